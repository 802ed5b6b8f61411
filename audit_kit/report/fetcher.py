"""The PDF renderer's only way to read anything: `AssetFetcher` lets WeasyPrint read files shipped under
the packaged templates' `assets/` folder and the document's own sanitised figures. file:// elsewhere,
http(s)://, data: and every other scheme are refused and recorded, so a hostile string that somehow became
markup still cannot fetch or exfiltrate anything.

Apart from `report/safety.py` (the record-id guard and SVG sanitising) because it needs WeasyPrint, which
takes over half a second to import: jobs that only guard text (a scan publishing the web app's read models)
do not load it.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse

ALLOWED_SUFFIXES = {".css", ".svg", ".png", ".jpg", ".jpeg", ".woff", ".woff2", ".ttf", ".otf"}


class AssetFetcher(URLFetcher):
    """A WeasyPrint URL fetcher that serves only packaged assets and refuses everything else."""

    def __init__(self, assets_dir: Path, figures: dict[str, bytes] | None = None) -> None:
        super().__init__(allowed_protocols={"file"}, allow_redirects=False, fail_on_errors=False)
        self.assets_dir = assets_dir.resolve()
        # Sanitised figures of this very document (render.figures_as_images), by their internal URL.
        self.figures = dict(figures or {})
        self.blocked: list[str] = []
        self.served: list[str] = []

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:  # noqa: ARG002
        if url in self.figures:
            self.served.append(url)
            return URLFetcherResponse(url, self.figures[url], {"Content-Type": "image/svg+xml"})
        path = self._asset_path(url)
        if path is None:
            self.blocked.append(url)
            # WeasyPrint turns this into a warning and renders without the resource.
            raise ValueError(f"audit-kit reports may not fetch {url[:80]!r}")
        self.served.append(url)
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})

    def _asset_path(self, url: str) -> Path | None:
        parts = urlsplit(url)
        if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
            return None
        if parts.query:
            return None
        try:
            path = Path(unquote(parts.path)).resolve()
        except (OSError, ValueError):
            return None
        if not path.is_relative_to(self.assets_dir) or path.suffix.lower() not in ALLOWED_SUFFIXES:
            return None
        return path if path.is_file() else None
