"""`audit-kit serve`: the web app for reviewers and DPOs over a workspace (docs/web.md)."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from pathlib import Path

import typer

from audit_kit.app.context import resolve
from audit_kit.app.readmodels import refresh_read_models
from audit_kit.cli._common import QuietOption, WorkspaceOption, is_quiet, stderr
from audit_kit.errors import InputError, WorkspaceError
from audit_kit.store import web
from audit_kit.store.people import PeopleStore
from audit_kit.store.workspace import DB_FILE
from audit_kit.web.settings import OidcSettings, WebSettings


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    workspace: Path = WorkspaceOption,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (keep loopback behind a TLS proxy)."),
    port: int = typer.Option(8765, "--port", "-p", min=1, max=65535, help="Port to listen on."),
    secure_cookies: bool = typer.Option(False, "--secure-cookies", help="Mark cookies Secure (set it whenever "
                                        "browsers reach the app over HTTPS, i.e. behind a TLS proxy)."),
    trust_proxy: bool = typer.Option(False, "--trust-proxy", help="Take client addresses from X-Forwarded-For "
                                     "(only behind your own reverse proxy)."),
    session_idle: int = typer.Option(30, "--session-idle", min=1, help="Minutes of inactivity that end a session."),
    session_max: int = typer.Option(720, "--session-max", min=5, help="Minutes after sign-in that end a session."),
    reports_dir: Path | None = typer.Option(None, "--reports", help="Where published reports are (national.pdf, "
                                            "packs/); default WORKSPACE/reports."),
    oidc_issuer: str | None = typer.Option(None, "--oidc-issuer", help="OpenID Connect issuer URL (enables "
                                           "'Sign in with your organisation')."),
    oidc_client_id: str | None = typer.Option(None, "--oidc-client-id", help="This app's client id at the issuer."),
    oidc_secret_file: Path | None = typer.Option(None, "--oidc-client-secret-file", help="File holding the client "
                                                 "secret (none: a public client with PKCE)."),
    oidc_redirect: str | None = typer.Option(None, "--oidc-redirect-url", help="https://HOST/login/oidc/callback "
                                             "as browsers reach it."),
    quiet: bool = QuietOption,
) -> None:
    """Serve the web app: dashboard, bodies, findings queue, evidence, questionnaires, downloads, JSON API.

    The app reads and writes only WORKSPACE/people.sqlite. The analytical data is published into it by `assess`, `detect` and `scan` as they finish, and by `serve` itself at start-up when the workspace changed since and no other process holds it. Add users first with `audit-kit users add`. Put it behind a TLS reverse proxy for anything but one machine (docs/web.md).

    Examples:

      audit-kit serve -w ws

      audit-kit serve -w ws --host 127.0.0.1 --port 8765 --secure-cookies --trust-proxy
    """
    if not (workspace / DB_FILE).exists():
        raise WorkspaceError(f"{workspace}: no audit-kit workspace here",
                             hint=f"run `audit-kit assess DATASET_DIR --workspace {workspace}` first")
    ctx = resolve(workspace, judges=False)
    oidc = None
    if oidc_issuer or oidc_client_id:
        if not (oidc_issuer and oidc_client_id and oidc_redirect):
            raise InputError("--oidc-issuer, --oidc-client-id and --oidc-redirect-url go together")
        secret = None
        if oidc_secret_file is not None:
            try:
                secret = oidc_secret_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise InputError(f"{oidc_secret_file}: cannot read the client secret ({exc.strerror})") from None
        oidc = OidcSettings(oidc_issuer.rstrip("/"), oidc_client_id, secret, oidc_redirect,
                            allow_http=_loopback(oidc_issuer.split("/")[2].split(":")[0]) if "://" in oidc_issuer
                            else False)
    settings = WebSettings(
        workspace=workspace, secure_cookies=secure_cookies, trust_proxy=trust_proxy,
        session_idle=timedelta(minutes=session_idle), session_max=timedelta(minutes=session_max),
        catalogues=ctx.catalogues, reports_dir=reports_dir, oidc=oidc)
    with PeopleStore.open(workspace) as people:
        web.restrict_permissions(people)
        users = web.list_users(people)
    outcome = refresh_read_models(workspace, ctx.limits, catalogues=ctx.catalogues)
    talk = not is_quiet(quiet)
    if talk:
        if outcome.status == "busy" and outcome.publication is None:
            stderr.print("warning: the workspace is busy and nothing was published yet; pages show data once it is free")
        elif outcome.status == "busy":
            stderr.print("note: the workspace is busy; serving the data published "
                         f"{outcome.publication.published_at:%Y-%m-%d %H:%M} UTC" if outcome.publication else "")
        if not users:
            stderr.print(f"note: no users yet — add one: audit-kit users add NAME --role reviewer -w {workspace} "
                         "--password-stdin")
        if not _loopback(host):
            stderr.print(f"warning: listening on {host} without TLS; put a TLS reverse proxy in front and use "
                         "--secure-cookies (docs/web.md)")
        stderr.print(f"audit-kit web app on http://{host}:{port}/ (Ctrl-C to stop)")
    import uvicorn

    from audit_kit.web.app import create_app

    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning", access_log=False,
                proxy_headers=False, server_header=False)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
