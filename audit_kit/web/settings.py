"""The web app's settings, resolved once by `audit-kit serve` (flags) and passed to `create_app`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from audit_kit.catalogue import CatalogueLibrary


@dataclass(frozen=True)
class OidcSettings:
    """An organisation's OpenID Connect identity provider (authorization code flow with PKCE)."""

    issuer: str  # e.g. https://login.example.org/realms/health (discovery at /.well-known/openid-configuration)
    client_id: str
    client_secret: str | None  # None for a public client (PKCE only)
    redirect_url: str  # this app's /login/oidc/callback as the browser reaches it
    timeout: float = 10.0
    allow_http: bool = False  # tests only: a fake IdP on loopback speaks plain HTTP


@dataclass(frozen=True)
class WebSettings:
    """Everything `create_app` needs. Defaults suit one machine behind a TLS reverse proxy."""

    workspace: Path
    secure_cookies: bool = False  # set Secure on cookies: on whenever a TLS proxy is in front
    session_idle: timedelta = timedelta(minutes=30)
    session_max: timedelta = timedelta(hours=12)
    max_failures: int = 5  # failed sign-ins in a row before the account locks
    lockout: timedelta = timedelta(minutes=15)
    trust_proxy: bool = False  # take the client address from X-Forwarded-For (only behind your own proxy)
    max_upload_bytes: int = 5 * 1024 * 1024
    oidc: OidcSettings | None = None
    reports_dir: Path | None = None  # default WS/reports
    catalogues: CatalogueLibrary = field(default_factory=CatalogueLibrary)
