"""Safe rendering: hostile names and comments are escaped, nothing is fetched, SVG is sanitised,
raw record ids are replaced even when a detector leaks one."""

from __future__ import annotations

import threading
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import report_world as world

from audit_kit.config import AuditConfig
from audit_kit.report import national_html, org_pack_html
from audit_kit.report.fetcher import AssetFetcher
from audit_kit.report.render import html_to_pdf
from audit_kit.report.safety import guard_record_ids, sanitise_svg
from audit_kit.resources import templates_dir

CFG = AuditConfig()  # the defaults: graphs over the window `detect` judges by default


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


@pytest.mark.parametrize("audience", ["restricted", "public"])
def test_hostile_strings_never_become_markup(ws, audience: str) -> None:
    for html in (
        national_html(ws, audience=audience, config=CFG),
        org_pack_html(ws, "GP002", audience=audience, config=CFG),
        org_pack_html(ws, "SC003", audience=audience, config=CFG),
    ):
        tags = _tags(html)
        assert [t for t, _ in tags if t in ("script", "iframe", "object", "link", "a")] == []
        assert [t for t, _ in tags if t == "img"] == []  # the cover mark is inlined; nothing to fetch
        assert sum(1 for t, _ in tags if t == "style") == 1  # only the packaged stylesheet
        style = html.split("<style>", 1)[1].split("</style>", 1)[0]
        assert style.strip() == (templates_dir() / "report.css").read_text().strip()
        if audience == "restricted" or "DPO pack" in html:
            assert "evil.example" in html  # the hostile text is shown, escaped, not dropped
            assert "&lt;img src=" in html or "&lt;/style&gt;" in html
        else:
            assert "evil.example" not in html  # the public summary names no body at all
        for _, attrs in tags:
            for name, value in attrs.items():
                assert not name.startswith("on")
                assert "evil.example" not in (value or "") or name in ("aria-label",)


def test_detector_leaking_a_raw_record_id_is_caught(ws) -> None:
    html = national_html(ws, config=CFG)
    assert world.RAW_LEAK not in html
    assert ws.pseudonymise(world.RAW_LEAK) in html
    public = national_html(ws, audience="public", config=CFG)
    assert world.RAW_LEAK not in public and ws.pseudonymise(world.RAW_LEAK) not in public


def test_guard_replaces_whole_tokens_only(ws) -> None:
    texts = ["seen C0000007 and C00000070 and xC0000007", "nothing here"]
    (out, other), found = guard_record_ids(ws, texts, restricted=True)
    assert found == 1
    assert out.startswith(f"seen {ws.pseudonymise('C0000007')} and C00000070 and xC0000007")
    assert other == "nothing here"
    (public,), _ = guard_record_ids(ws, ["id C0000007."], restricted=False)
    assert public == "id a record."


class _Counter(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        _Counter.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_pdf_renderer_fetches_nothing_but_packaged_assets(tmp_path: Path) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Counter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    secret = tmp_path / "secret.css"
    secret.write_text("body { color: red }")
    html = f"""<html><head>
      <link rel="stylesheet" href="{base}/style.css">
      <link rel="stylesheet" href="{secret.as_uri()}">
      <style>@import url("{base}/import.css"); body {{ background: url({base}/bg.png) }}
             @font-face {{ font-family: X; src: url({base}/font.woff) }}</style>
      </head><body>
      <img src="{base}/img.png"><img src="file:///etc/passwd"><img src="data:image/png;base64,AAAA">
      <img src="mark.svg"><img src="../report.css">
      <svg xmlns="http://www.w3.org/2000/svg"><image href="{base}/svg.png" width="5" height="5"/></svg>
      <p>ok</p></body></html>"""
    try:
        result = html_to_pdf(html, tmp_path / "x.pdf")
    finally:
        server.shutdown()
    assert _Counter.hits == []
    assert (tmp_path / "x.pdf").stat().st_size > 0
    blocked = " ".join(result.blocked)
    for bit in (
        "/style.css",
        "secret.css",
        "/import.css",
        "/bg.png",
        "/img.png",
        "/etc/passwd",
        "data:image",
        "report.css",
    ):
        assert bit in blocked, bit


def test_fetcher_rules(tmp_path: Path) -> None:
    assets = templates_dir() / "assets"
    fetcher = AssetFetcher(assets)
    ok = fetcher.fetch((assets / "mark.svg").as_uri())
    assert ok.read().startswith(b"<svg")
    for url in (
        (assets / ".." / "report.css").as_uri(),
        "http://example.org/a.css",
        "https://example.org/x.png",
        "file:///etc/passwd",
        (assets / "mark.svg").as_uri() + "?q=1",
        "ftp://example.org/x",
        "file://evil.example/share/mark.svg",
    ):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert len(fetcher.blocked) == 7


def test_sanitise_svg_strips_active_and_external_content() -> None:
    svg = """<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" onload="x()">
      <style>@import url(http://evil/a.css); .a { fill: url(#grad); stroke: url(http://evil/b) }</style>
      <script>alert(1)</script><foreignObject><div>hi</div></foreignObject>
      <image xlink:href="http://evil/i.png"/><a href="http://evil/"><text>link</text></a>
      <use xlink:href="#n1"/><use href="http://evil/sprite.svg#x"/>
      <rect id="n1" style="fill: url('http://evil/c')" onclick="y()" width="1" height="1"/>
      <text>&lt;b&gt;Evil Council&lt;/b&gt;</text></svg>"""
    clean = sanitise_svg(svg)
    for bad in ("script", "foreignObject", "onload", "onclick", "http://evil", "@import", "<image", "<a "):
        assert bad not in clean, bad
    assert "url(#grad)" in clean and 'href="#n1"' in clean
    assert "&lt;b&gt;Evil Council&lt;/b&gt;" in clean
    with pytest.raises(ValueError):
        sanitise_svg('<!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>')
    with pytest.raises(ValueError):
        sanitise_svg("<html><body/></html>")
