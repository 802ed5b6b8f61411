"""The web application: pages and a JSON API over the people store, with one rule book for both.

Every request runs through `_dispatch`: open the people store, resume the session, check CSRF on
writes, call the handler, and append what was read or done (who, when, from where, what, the status
answered) to the hash-chained access log. Handlers decide visibility with `Principal.can_see_org` and
raise `Forbidden` — recorded like any read — when a DPO reaches for another body.

Security headers on every answer: a strict Content-Security-Policy (scripts and styles from this app
only, no inline script or style), no framing, no referrer, no caching of pages.

(Why this module runs past 400 lines: every route, page and API alike, goes through one dispatcher with one
rule book (session, CSRF, visibility, access log); keeping the routes beside it makes any route that bypasses
it visible in review.)
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders, UploadFile
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from audit_kit.errors import InputError
from audit_kit.models.actions import ActionResponse, ActionStatus, ManagementResponse
from audit_kit.report.api import pack_filename
from audit_kit.resources import templates_dir
from audit_kit.store import actions as action_store
from audit_kit.store import web
from audit_kit.store.people import PeopleStore
from audit_kit.web import review as reviews
from audit_kit.web import views
from audit_kit.web.auth import Principal, authenticate, check_new_user, hash_password, resume, start_session
from audit_kit.web.settings import WebSettings
from audit_kit.web.upload import check_upload

SESSION_COOKIE = "ak_session"
LOGIN_COOKIE = "ak_login"  # double-submit token for the sign-in form (there is no session yet)
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
MAX_JSON = 64 * 1024
QUEUE_PAGE = 200
MAX_RESPONSE_TEXT = 4000  # each free-text field of a management response
NATIONAL_REPORT = "national.pdf"


class Forbidden(Exception):
    """The signed-in person may not see this (recorded in the access log with status 403)."""


class NotFound(Exception):
    pass


@dataclass
class Audit:
    """What a request read or did, for the access log."""

    action: str
    kind: str | None = None
    object_id: str | None = None
    org_id: str | None = None


@dataclass
class Ctx:
    """One request as a handler sees it."""

    request: Request
    people: PeopleStore
    settings: WebSettings
    state: AppState
    now: datetime
    ip: str | None
    principal: Principal | None
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    body: Any = None
    audit: Audit | None = None

    @property
    def me(self) -> Principal:
        assert self.principal is not None
        return self.principal

    def note(self, action: str, kind: str | None = None, object_id: str | None = None,
             org_id: str | None = None) -> None:
        self.audit = Audit(action, kind, object_id, org_id)

    def param(self, name: str) -> str:
        return str(self.request.path_params[name])

    def query(self, name: str, default: str = "") -> str:
        return (self.request.query_params.get(name) or default).strip()[:200]


@dataclass
class AppState:
    """What the running app keeps between requests."""

    settings: WebSettings


Handler = Callable[[Ctx], Response]


# -- rendering ---------------------------------------------------------------------------------------
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(templates_dir() / "web")),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["q"] = lambda v: quote(str(v), safe="")
    return env


_ENV = _environment()


def render(ctx: Ctx, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    pub = web.publication(ctx.people)
    html = _ENV.get_template(template).render(
        me=ctx.principal, csrf=ctx.principal.csrf_token if ctx.principal else "",
        fresh=views.freshness(pub, ctx.now), path=ctx.request.url.path, **values)
    return HTMLResponse(html, status_code=status)


def api_json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


# -- the request pipeline ---------------------------------------------------------------------------
def _client_ip(request: Request, settings: WebSettings) -> str | None:
    if settings.trust_proxy:
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:64]
    return request.client.host if request.client else None


def _secure(response: Response, cacheable: bool = False) -> Response:
    for k, v in SECURITY_HEADERS.items():
        response.headers.setdefault(k, v)
    if not cacheable:
        response.headers["Cache-Control"] = "no-store"
    return response


def endpoint(state: AppState, handler: Handler, *, auth: bool = True, csrf: bool = True) -> Callable[..., Any]:
    settings = state.settings

    async def run(request: Request) -> Response:
        form: dict[str, str] = {}
        files: dict[str, tuple[str, bytes]] = {}
        body: Any = None
        if request.method == "POST":
            ctype = request.headers.get("content-type", "")
            if ctype.startswith("application/json"):
                raw = await request.body()
                if len(raw) > MAX_JSON:
                    return _secure(api_json({"error": "request too large"}, 413))
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    return _secure(api_json({"error": "the body is not valid JSON"}, 400))
            else:
                try:
                    async with request.form(max_files=1, max_fields=60,
                                            max_part_size=settings.max_upload_bytes) as data:
                        for key, value in data.multi_items():
                            if isinstance(value, UploadFile):
                                content = await value.read(settings.max_upload_bytes + 1)
                                files[key] = (value.filename or "", content)
                            else:
                                form[key] = str(value)
                except Exception as exc:  # multipart limits and malformed bodies  # noqa: BLE001
                    return _secure(HTMLResponse(f"Bad request: {type(exc).__name__}", 400))
        return _secure(await run_in_threadpool(_dispatch, state, handler, request, form, files, body, auth, csrf))

    return run


def _dispatch(state: AppState, handler: Handler, request: Request, form: dict[str, str],
              files: dict[str, tuple[str, bytes]], body: Any, auth: bool, csrf: bool) -> Response:
    settings = state.settings
    now = datetime.now(UTC).replace(microsecond=0)
    with PeopleStore.open(settings.workspace) as people:
        principal = resume(people, request.cookies.get(SESSION_COOKIE), settings, now)
        ctx = Ctx(request, people, settings, state, now, _client_ip(request, settings), principal, form, files, body)
        is_api = _wants_json(request)
        if auth and principal is None:
            if is_api:
                return api_json({"error": "sign in first (POST /api/login)"}, 401)
            return RedirectResponse("/login?" + urlencode({"next": request.url.path}), 303)
        if auth and csrf and request.method == "POST":
            sent = request.headers.get("x-csrf-token") or form.get("csrf")
            assert principal is not None
            if not principal.csrf_ok(sent):
                _record(ctx, Audit("csrf_rejected"), 403)
                if is_api:
                    return api_json({"error": "missing or wrong X-CSRF-Token (from POST /api/login)"}, 403)
                return render(ctx, "error.html", 403, title="Form expired",
                              message="This form had expired or did not come from audit-kit. Go back, reload "
                                      "the page and try again.")
        try:
            response = handler(ctx)
        except Forbidden:
            status = 403
            if is_api:
                response = api_json({"error": "you may not see this"}, 403)
            else:
                response = render(ctx, "error.html", 403, title="Not yours to see",
                                  message="Your account may not see this page. A DPO sees their own body only; "
                                          "ask a reviewer if you need more.")
        except NotFound:
            status = 404
            response = api_json({"error": "not found"}, 404) if is_api else render(
                ctx, "error.html", 404, title="Not found", message="There is nothing here.")
        else:
            status = response.status_code
        if ctx.audit is not None:
            _record(ctx, ctx.audit, status)
        return response


def _record(ctx: Ctx, audit: Audit, status: int) -> None:
    p = ctx.principal
    web.append_access(ctx.people, at=ctx.now, username=p.username if p else None, role=p.role if p else None,
                      ip=ctx.ip, method=ctx.request.method, path=ctx.request.url.path, action=audit.action,
                      object_kind=audit.kind, object_id=audit.object_id, org_id=audit.org_id, status=status)


def _set_session(response: Response, token: str, settings: WebSettings) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=int(settings.session_max.total_seconds()), httponly=True,
                        samesite="strict", secure=settings.secure_cookies, path="/")


# -- sign-in ----------------------------------------------------------------------------------------
def _safe_next(value: str) -> str:
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else "/"


def login_page(ctx: Ctx) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(ctx, "login.html", login_csrf=token, next=_safe_next(ctx.query("next", "/")), error="",
                      oidc=ctx.settings.oidc is not None)
    response.set_cookie(LOGIN_COOKIE, token, max_age=900, httponly=True, samesite="strict",
                        secure=ctx.settings.secure_cookies, path="/login")
    return response


def login_submit(ctx: Ctx) -> Response:
    sent, cookie = ctx.form.get("csrf", ""), ctx.request.cookies.get(LOGIN_COOKIE, "")
    nxt = _safe_next(ctx.form.get("next", "/"))
    if not sent or not cookie or not secrets.compare_digest(sent, cookie):
        ctx.note("login_rejected")
        return render(ctx, "error.html", 403, title="Form expired",
                      message="The sign-in form had expired. Reload it and try again.")
    username = ctx.form.get("username", "").strip()[:64]
    result = authenticate(ctx.people, username, ctx.form.get("password", ""), ctx.settings, ctx.now)
    if result.user is None:
        ctx.audit = Audit("login_failed", "user", username[:64] or None)
        token = secrets.token_urlsafe(24)
        resp = render(ctx, "login.html", 401, login_csrf=token, next=nxt, oidc=ctx.settings.oidc is not None,
                      error="Wrong username or password, or the account is locked or disabled. After "
                            f"{ctx.settings.max_failures} wrong passwords an account locks for "
                            f"{int(ctx.settings.lockout.total_seconds() // 60)} minutes.")
        resp.set_cookie(LOGIN_COOKIE, token, max_age=900, httponly=True, samesite="strict",
                        secure=ctx.settings.secure_cookies, path="/login")
        return resp
    session = start_session(ctx.people, result.user, ctx.settings, ctx.now, ctx.ip)
    ctx.principal = Principal(result.user, session.token, session.csrf_token)
    ctx.note("login", "user", result.user.username)
    response = RedirectResponse(nxt, 303)
    _set_session(response, session.token, ctx.settings)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


def logout(ctx: Ctx) -> Response:
    web.end_session(ctx.people, ctx.me.token)
    ctx.note("logout", "user", ctx.me.username)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def api_login(ctx: Ctx) -> Response:
    body = ctx.body if isinstance(ctx.body, dict) else None
    if body is None or not isinstance(body.get("username"), str) or not isinstance(body.get("password"), str):
        return api_json({"error": 'send JSON {"username": ..., "password": ...}'}, 400)
    result = authenticate(ctx.people, body["username"].strip()[:64], body["password"], ctx.settings, ctx.now)
    if result.user is None:
        ctx.audit = Audit("login_failed", "user", body["username"][:64] or None)
        return api_json({"error": "wrong username or password, or the account is locked or disabled"}, 401)
    session = start_session(ctx.people, result.user, ctx.settings, ctx.now, ctx.ip)
    ctx.principal = Principal(result.user, session.token, session.csrf_token)
    ctx.note("login", "user", result.user.username)
    response = api_json({"username": result.user.username, "role": result.user.role, "org_id": result.user.org_id,
                         "csrf_token": session.csrf_token,
                         "expires_in": int(ctx.settings.session_max.total_seconds())})
    _set_session(response, session.token, ctx.settings)
    return response


def api_logout(ctx: Ctx) -> Response:
    web.end_session(ctx.people, ctx.me.token)
    ctx.note("logout", "user", ctx.me.username)
    response = api_json({"signed_out": True})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- pages -------------------------------------------------------------------------------------------
def home(ctx: Ctx) -> Response:
    me = ctx.me
    if me.role == "dpo":
        return RedirectResponse(f"/orgs/{quote(me.user.org_id or '', safe='')}", 303)
    if me.role == "admin":
        return RedirectResponse("/admin/users", 303)
    ctx.note("view_dashboard", "national")
    pub = web.publication(ctx.people)
    board = views.dashboard(pub, web.list_orgs(ctx.people), web.trend(ctx.people))
    return render(ctx, "dashboard.html", board=board, title="National dashboard")


def _visible_org(ctx: Ctx, org_id: str, action: str) -> web.OrgReadModel:
    ctx.note(action, "org", org_id, org_id)
    if not ctx.me.can_see_org(org_id):
        raise Forbidden
    org = web.get_org(ctx.people, org_id)
    if org is None:
        raise NotFound
    return org


def org_page(ctx: Ctx, message: str = "", status: int = 200) -> Response:
    org = _visible_org(ctx, ctx.param("org_id"), "view_org")
    page = _org_view(ctx, org)
    findings = web.list_findings(ctx.people, org_id=org.org_id, limit=10)
    st = reviews.states(ctx.people, [f.finding_id for f in findings])
    received = web.submissions(ctx.people, org_id=org.org_id)[:5]
    return render(ctx, "org.html", status, page=page, findings=[views.finding_row(f, st.get(f.finding_id))
                                                                  for f in findings],
                  received=received, pack=_pack_path(ctx, org.org_id) is not None,
                  can_respond=ctx.me.can_respond(org.org_id), statuses=views.DPO_STATUSES,
                  responses=views.RESPONSES, labels=views.STATUS_LABELS, message=message, title=org.name)


def _org_view(ctx: Ctx, org: web.OrgReadModel) -> views.OrgPage:
    issued = {a.action_id: a.due for a in action_store.issued_actions(ctx.people, org.org_id)}
    return views.org_page(org, action_store.latest_responses(ctx.people, org.org_id), issued)


def org_response(ctx: Ctx) -> Response:
    """A DPO's management response to one action of their body's plan, recorded like a returned workbook
    row (`audit_kit.store.actions`, source "web"), so `audit-kit actions` and the next report see it."""
    org = _visible_org(ctx, ctx.param("org_id"), "respond_action_plan")
    if not ctx.me.can_respond(org.org_id):
        raise Forbidden
    action_id = ctx.form.get("action_id", "")
    if action_id not in {p.action_id for p in views.org_page(org, {}).plan}:
        return org_page(ctx, "That action is not in the body's current action plan.", 400)
    try:
        response = _action_response(ctx, org.org_id, action_id)
    except InputError as exc:
        return org_page(ctx, exc.message, 400)
    action_store.record_responses(ctx.people, [response], ctx.now.replace(tzinfo=None))
    ctx.note("respond_action_plan", "action", action_id, org.org_id)
    return RedirectResponse(f"/orgs/{quote(org.org_id, safe='')}#plan", 303)


def _action_response(ctx: Ctx, org_id: str, action_id: str) -> ActionResponse:
    """The form's fields as a response, or InputError naming the field that is wrong."""
    form = ctx.form
    answer, status = form.get("response", ""), form.get("status", "")
    if answer not in views.RESPONSES:
        raise InputError(f"response: choose one of {', '.join(views.RESPONSES)}")
    if status not in views.ACTION_STATUSES:
        raise InputError(f"status: choose one of {', '.join(views.ACTION_STATUSES)}")
    if status == ActionStatus.CLOSED.value:
        raise InputError("status: closed is for the database holder, once it accepts the evidence; "
                         "say done and give the evidence")
    texts = {k: form.get(k, "").strip() for k in ("owner_name", "evidence", "comment")}
    for key, text in texts.items():
        if len(text) > MAX_RESPONSE_TEXT:
            raise InputError(f"{key.replace('_', ' ')}: at most {MAX_RESPONSE_TEXT:,} characters")
    if answer != ManagementResponse.AGREED.value and not texts["comment"]:
        raise InputError(f"comment: say why the response is {answer}")
    if status == ActionStatus.DONE.value and not texts["evidence"]:
        raise InputError("evidence: say what shows the action is done")
    agreed = form.get("agreed_date", "").strip()
    try:
        agreed_date = date.fromisoformat(agreed) if agreed else None
    except ValueError:
        raise InputError(f"agreed date {agreed[:20]!r}: expected a date like 2026-06-30") from None
    return ActionResponse(action_id=action_id, org_id=org_id, response=ManagementResponse(answer),
                          owner_name=texts["owner_name"], status=ActionStatus(status), agreed_date=agreed_date,
                          evidence=texts["evidence"], comment=texts["comment"], recorded_by=ctx.me.username,
                          source="web")


def orgs_page(ctx: Ctx) -> Response:
    if not ctx.me.sees_data:
        raise Forbidden
    visible = None if ctx.me.reviews else [ctx.me.user.org_id or ""]
    ctx.note("list_orgs", "orgs")
    rows = [views.org_row(o) for o in web.list_orgs(ctx.people, visible)]
    return render(ctx, "orgs.html", orgs=rows, title="Bodies")


def _queue_filters(ctx: Ctx) -> dict[str, str]:
    return {k: ctx.query(k) for k in ("org", "severity", "detector", "state", "assignee")}


def _queue(ctx: Ctx, filters: dict[str, str]) -> tuple[list[views.FindingRow], int]:
    me = ctx.me
    org = filters["org"] or None
    if me.role == "dpo":
        if org and org != me.user.org_id:
            raise Forbidden
        org = me.user.org_id
    elif not me.reviews:
        raise Forbidden
    min_rank = views.SEVERITIES[::-1].index(filters["severity"]) if filters["severity"] in views.SEVERITIES else 0
    found = web.list_findings(ctx.people, org_id=org, detector=filters["detector"] or None, min_rank=min_rank)
    st = reviews.states(ctx.people)
    rows = [views.finding_row(f, st.get(f.finding_id)) for f in found]
    if filters["state"]:
        rows = [r for r in rows if r.state == filters["state"]]
    if filters["assignee"]:
        rows = [r for r in rows if r.assignee == filters["assignee"]]
    return rows[:QUEUE_PAGE], len(rows)


def findings_page(ctx: Ctx) -> Response:
    filters = _queue_filters(ctx)
    ctx.note("list_findings", "findings", None, filters["org"] or (ctx.me.user.org_id if ctx.me.role == "dpo" else None))
    rows, total = _queue(ctx, filters)
    reviewers = [u.username for u in web.list_users(ctx.people) if u.role == "reviewer" and not u.disabled]
    orgs = [o.org_id for o in web.list_orgs(ctx.people)] if ctx.me.reviews else [ctx.me.user.org_id or ""]
    template = "_queue.html" if ctx.request.headers.get("hx-request") else "findings.html"
    return render(ctx, template, rows=rows, total=total, shown=len(rows), filters=filters, reviewers=reviewers,
                  orgs=orgs, detectors=web.detectors(ctx.people), severities=views.SEVERITIES,
                  states=reviews.STATES, labels=reviews.STATE_LABELS, title="Findings queue")


def _visible_finding(ctx: Ctx, action: str) -> web.FindingReadModel:
    fid = ctx.param("finding_id")[:64]
    f = web.get_finding(ctx.people, fid)
    ctx.note(action, "finding", fid, f.org_id if f else None)
    if f is None:
        if not ctx.me.reviews:
            raise Forbidden  # a DPO learns nothing about ids outside their body
        raise NotFound
    if not ctx.me.can_see_org(f.org_id):
        raise Forbidden
    return f


def finding_page(ctx: Ctx, error: str = "", status: int = 200) -> Response:
    f = _visible_finding(ctx, "view_finding")
    st = reviews.state_of(ctx.people, f.finding_id, ctx.now)
    reviewers = [u.username for u in web.list_users(ctx.people) if u.role == "reviewer" and not u.disabled]
    return render(ctx, "finding.html", status, page=views.finding_page(f, st), reviewers=reviewers,
                  states=reviews.STATES, labels=reviews.STATE_LABELS, error=error,
                  explained_by=reviews.EXPLAINED_BY_LABELS, suppress_days=reviews.SUPPRESS_DAYS,
                  title=f"Finding {f.finding_id}")


def finding_review(ctx: Ctx) -> Response:
    f = _visible_finding(ctx, "review_finding")
    if not ctx.me.reviews:
        raise Forbidden
    try:
        reviews.review(ctx.people, f.finding_id, state=ctx.form.get("state") or None, note=ctx.form.get("note", ""),
                       assignee=ctx.form.get("assignee", ""), by=ctx.me.username, now=ctx.now,
                       suppress_days=ctx.form.get("suppress_days"), explained_by=ctx.form.get("explained_by") or None)
    except InputError as exc:
        if ctx.request.headers.get("hx-request"):
            st = reviews.state_of(ctx.people, f.finding_id)
            return render(ctx, "_queue_row.html", 200, row=views.finding_row(f, st), error=exc.message,
                          reviewers=_reviewers(ctx), states=reviews.STATES, labels=reviews.STATE_LABELS)
        return finding_page(ctx, exc.message, 400)
    if ctx.request.headers.get("hx-request"):
        st = reviews.state_of(ctx.people, f.finding_id)
        return render(ctx, "_queue_row.html", row=views.finding_row(f, st), error="", reviewers=_reviewers(ctx),
                      states=reviews.STATES, labels=reviews.STATE_LABELS)
    back = _safe_next(ctx.form.get("next", "")) if ctx.form.get("next") else f"/findings/{quote(f.finding_id)}"
    return RedirectResponse(back, 303)


def _reviewers(ctx: Ctx) -> list[str]:
    return [u.username for u in web.list_users(ctx.people) if u.role == "reviewer" and not u.disabled]


def questionnaire_page(ctx: Ctx) -> Response:
    org = _visible_org(ctx, ctx.param("org_id"), "view_questionnaire")
    if not ctx.me.can_respond(org.org_id) and not ctx.me.reviews:
        raise Forbidden
    return render(ctx, "questionnaire.html", org=org, check=None, received=web.submissions(ctx.people, org.org_id),
                  can_submit=ctx.me.can_respond(org.org_id), title=f"Questionnaire — {org.name}")


def questionnaire_upload(ctx: Ctx) -> Response:
    org = _visible_org(ctx, ctx.param("org_id"), "submit_questionnaire")
    if not ctx.me.can_respond(org.org_id):
        raise Forbidden
    filename, content = ctx.files.get("file", ("", b""))
    if len(content) > ctx.settings.max_upload_bytes:
        content = b""
        filename = filename or "questionnaire"
    known = {o.org_id for o in web.list_orgs(ctx.people)}
    check = check_upload(filename, content, org.org_id, known, ctx.settings.catalogues)
    stored = None
    if check.ok:
        stored = web.add_submission(ctx.people, org.org_id, check.checklist_id, check.filename, check.fmt, content,
                                    check.answers, ctx.me.username, ctx.now)
        ctx.note("submit_questionnaire", "questionnaire", str(stored.submission_id), org.org_id)
    else:
        ctx.note("submit_questionnaire_rejected", "questionnaire", check.filename, org.org_id)
    return render(ctx, "questionnaire.html", 200 if check.ok else 400, org=org, check=check, stored=stored,
                  received=web.submissions(ctx.people, org.org_id), can_submit=True,
                  title=f"Questionnaire — {org.name}")


# -- downloads ---------------------------------------------------------------------------------------
def _reports_dir(settings: WebSettings) -> Path:
    return settings.reports_dir or settings.workspace / "reports"


def _pack_path(ctx: Ctx, org_id: str) -> Path | None:
    for fmt in ("pdf", "html"):
        p = _reports_dir(ctx.settings) / "packs" / pack_filename(org_id, fmt)
        if p.is_file():
            return p
    return None


def reports_page(ctx: Ctx) -> Response:
    if not ctx.me.sees_data:
        raise Forbidden
    ctx.note("list_reports", "reports")
    national = _reports_dir(ctx.settings) / NATIONAL_REPORT
    orgs = web.list_orgs(ctx.people, None if ctx.me.reviews else [ctx.me.user.org_id or ""])
    packs = [(o.org_id, o.name, _pack_path(ctx, o.org_id) is not None) for o in orgs]
    return render(ctx, "reports.html", national=national.is_file() and ctx.me.reviews, packs=packs,
                  reports_dir=str(_reports_dir(ctx.settings)), title="Reports and packs")


def download_national(ctx: Ctx) -> Response:
    ctx.note("download_report", "report", NATIONAL_REPORT)
    if not ctx.me.reviews:
        raise Forbidden
    path = _reports_dir(ctx.settings) / NATIONAL_REPORT
    if not path.is_file():
        raise NotFound
    return FileResponse(path, filename=NATIONAL_REPORT, media_type="application/pdf")


def download_pack(ctx: Ctx) -> Response:
    org_id = ctx.param("org_id")
    ctx.note("download_pack", "pack", org_id, org_id)
    if not ctx.me.can_see_org(org_id):
        raise Forbidden
    path = _pack_path(ctx, org_id)
    if path is None:
        raise NotFound
    media = "application/pdf" if path.suffix == ".pdf" else "text/html"
    return FileResponse(path, filename=path.name, media_type=media,
                        content_disposition_type="attachment")


# -- administration ----------------------------------------------------------------------------------
def users_page(ctx: Ctx, error: str = "", status: int = 200) -> Response:
    if not ctx.me.manages_users:
        raise Forbidden
    ctx.note("list_users", "users")
    return render(ctx, "users.html", status, users=web.list_users(ctx.people), roles=web.ROLES, error=error,
                  orgs=[o.org_id for o in web.list_orgs(ctx.people)], title="Users")


def users_add(ctx: Ctx) -> Response:
    if not ctx.me.manages_users:
        raise Forbidden
    username, role = ctx.form.get("username", "").strip(), ctx.form.get("role", "")
    org_id = ctx.form.get("org", "").strip() or None
    try:
        check_new_user(username, role, org_id, {o.org_id for o in web.list_orgs(ctx.people)})
        if web.get_user(ctx.people, username):
            raise InputError(f"{username!r} already exists")
        hashed = hash_password(ctx.form.get("password", ""))
    except InputError as exc:
        return users_page(ctx, str(exc), 400)
    web.add_user(ctx.people, username, role, org_id, hashed, ctx.me.username, ctx.now)
    ctx.note("add_user", "user", username, org_id)
    return RedirectResponse("/admin/users", 303)


def users_disable(ctx: Ctx) -> Response:
    if not ctx.me.manages_users:
        raise Forbidden
    username = ctx.param("username")
    if username == ctx.me.username:
        return users_page(ctx, "You cannot disable your own account.", 400)
    enable = ctx.form.get("enable") == "1"
    if not web.set_disabled(ctx.people, username, not enable):
        raise NotFound
    ctx.note("enable_user" if enable else "disable_user", "user", username)
    return RedirectResponse("/admin/users", 303)


def access_log_page(ctx: Ctx) -> Response:
    if not ctx.me.manages_users:
        raise Forbidden
    ctx.note("view_access_log", "access_log")
    entries = web.access_entries(ctx.people, limit=300, newest_first=True)
    return render(ctx, "access_log.html", entries=entries, check=web.verify_access_log(ctx.people),
                  title="Access log")


# -- the JSON API ------------------------------------------------------------------------------------
def _org_json(o: web.OrgReadModel, full: bool) -> dict[str, Any]:
    data: dict[str, Any] = {"org_id": o.org_id, "name": o.name, "type": o.type, "area": o.area,
                            "risk_level": o.risk_level, "likelihood": o.likelihood, "impact": o.impact,
                            "tier": o.tier, "previous_risk_level": o.previous_risk_level, "score": o.score,
                            "findings": o.findings}
    if full:
        data["assessment"] = json.loads(o.assessment) if o.assessment else None
        data["scores"] = json.loads(o.scores) if o.scores else None
    return data


def api_orgs(ctx: Ctx) -> Response:
    if not ctx.me.sees_data:
        raise Forbidden
    ctx.note("list_orgs", "orgs")
    visible = None if ctx.me.reviews else [ctx.me.user.org_id or ""]
    return api_json({"orgs": [_org_json(o, False) for o in web.list_orgs(ctx.people, visible)]})


def api_org(ctx: Ctx) -> Response:
    org = _visible_org(ctx, ctx.param("org_id"), "view_org")
    data = _org_json(org, True)
    data["responses"] = [json.loads(r.model_dump_json()) for r in
                         action_store.latest_responses(ctx.people, org.org_id).values()]
    return api_json(data)


def _finding_json(f: web.FindingReadModel, st: reviews.ReviewState | None) -> dict[str, Any]:
    return {"finding_id": f.finding_id, "detector": f.detector, "severity": f.severity, "score": f.score,
            "org_id": f.org_id, "user_id": f.user_id, "record_count": f.record_count, "first_seen": f.first_seen,
            "last_seen": f.last_seen, "summary": f.summary, "evidence": json.loads(f.evidence),
            "review": {"state": st.state if st else "open", "assignee": st.assignee if st else None}}


def api_findings(ctx: Ctx) -> Response:
    filters = _queue_filters(ctx)
    ctx.note("list_findings", "findings", None, filters["org"] or (ctx.me.user.org_id if ctx.me.role == "dpo" else None))
    rows, total = _queue(ctx, filters)
    found = {f.finding_id: f for f in web.list_findings(ctx.people, finding_ids=[r.finding_id for r in rows])}
    st = reviews.states(ctx.people, list(found))
    return api_json({"total": total, "shown": len(rows),
                     "findings": [_finding_json(found[r.finding_id], st.get(r.finding_id)) for r in rows
                                  if r.finding_id in found]})


def api_finding(ctx: Ctx) -> Response:
    f = _visible_finding(ctx, "view_finding")
    st = reviews.state_of(ctx.people, f.finding_id, ctx.now)
    data = _finding_json(f, st)
    data["review"]["history"] = [{"what": e.what, "state": e.state, "assignee": e.assignee, "note": e.note,
                                  "by": e.by, "at": e.at.isoformat()} for e in st.history]
    data["review"]["rule"] = st.rule or None
    return api_json(data)


def api_review(ctx: Ctx) -> Response:
    f = _visible_finding(ctx, "review_finding")
    if not ctx.me.reviews:
        raise Forbidden
    body = ctx.body if isinstance(ctx.body, dict) else {}
    try:
        for key in ("state", "note", "assignee", "explained_by"):
            if body.get(key) is not None and not isinstance(body[key], str):
                raise InputError(f"{key}: expected a string")
        days = body.get("suppress_days")
        if days is not None and (isinstance(days, bool) or not isinstance(days, int)):
            raise InputError("suppress_days: expected a whole number of days")
        st = reviews.review(ctx.people, f.finding_id, state=body.get("state"), note=body.get("note") or "",
                            assignee=body.get("assignee"), by=ctx.me.username, now=ctx.now,
                            suppress_days=days, explained_by=body.get("explained_by"))
    except InputError as exc:
        return api_json({"error": exc.message}, 400)
    return api_json({"finding_id": f.finding_id, "state": st.state, "assignee": st.assignee, "rule": st.rule or None})


def oidc_start(ctx: Ctx) -> Response:
    from audit_kit.web import oidc

    assert ctx.settings.oidc is not None
    try:
        begun = oidc.begin(ctx.people, ctx.settings.oidc, ctx.now)
    except oidc.OidcError as exc:
        ctx.note("login_oidc_failed", "user")
        return _oidc_failed(ctx, str(exc), 502)
    response = RedirectResponse(begun.redirect_url, 303)
    # Lax, not Strict: the provider sends the browser back with a cross-site top-level GET.
    response.set_cookie(oidc.STATE_COOKIE, begun.state, max_age=int(oidc.STATE_TTL.total_seconds()), httponly=True,
                        samesite="lax", secure=ctx.settings.secure_cookies, path="/login/oidc")
    return response


def oidc_callback(ctx: Ctx) -> Response:
    from audit_kit.web import oidc

    assert ctx.settings.oidc is not None
    try:
        user = oidc.finish(ctx.people, ctx.settings.oidc, state=ctx.query("state"), code=ctx.query("code"),
                           cookie=ctx.request.cookies.get(oidc.STATE_COOKIE, ""), error=ctx.query("error"),
                           now=ctx.now)
    except oidc.UnlinkedIdentity as exc:
        ctx.note("login_oidc_failed", "user", exc.subject[-64:])
        return _oidc_failed(ctx, str(exc), 403)
    except oidc.OidcError as exc:
        ctx.note("login_oidc_failed", "user")
        return _oidc_failed(ctx, str(exc), 401)
    session = start_session(ctx.people, user, ctx.settings, ctx.now, ctx.ip)
    ctx.principal = Principal(user, session.token, session.csrf_token)
    ctx.note("login", "user", user.username)
    # A page, not a redirect: the session cookie is SameSite=Strict, which a browser does not send on a
    # redirect chain the provider started; the next navigation starts here, on this site.
    response = render(ctx, "signed_in.html", title="Signed in")
    _set_session(response, session.token, ctx.settings)
    response.delete_cookie(oidc.STATE_COOKIE, path="/login/oidc")
    return response


def _oidc_failed(ctx: Ctx, why: str, status: int) -> Response:
    return render(ctx, "error.html", status, title="Sign-in failed",
                  message=f"Signing in through your organisation failed: {why}.")


def health(ctx: Ctx) -> Response:
    return api_json({"ok": True})


# -- the application ---------------------------------------------------------------------------------
def create_app(settings: WebSettings) -> Starlette:
    """The web app over `settings.workspace` (its people store must exist: `audit-kit serve` makes it)."""
    state = AppState(settings)

    def r(path: str, handler: Handler, methods: tuple[str, ...] = ("GET",), **kw: Any) -> Route:
        return Route(path, endpoint(state, handler, **kw), methods=list(methods))

    routes = [
        r("/login", login_page, auth=False),
        r("/login", login_submit, ("POST",), auth=False),
        r("/logout", logout, ("POST",)),
        r("/", home),
        r("/orgs", orgs_page),
        r("/orgs/{org_id}", org_page),
        r("/orgs/{org_id}/responses", org_response, ("POST",)),
        r("/orgs/{org_id}/questionnaire", questionnaire_page),
        r("/orgs/{org_id}/questionnaire", questionnaire_upload, ("POST",)),
        r("/orgs/{org_id}/pack", download_pack),
        r("/findings", findings_page),
        r("/findings/{finding_id}", finding_page),
        r("/findings/{finding_id}/review", finding_review, ("POST",)),
        r("/reports", reports_page),
        r("/reports/national.pdf", download_national),
        r("/admin/users", users_page),
        r("/admin/users", users_add, ("POST",)),
        r("/admin/users/{username}/disable", users_disable, ("POST",)),
        r("/admin/access-log", access_log_page),
        r("/healthz", health, auth=False),
        r("/api/login", api_login, ("POST",), auth=False),
        r("/api/logout", api_logout, ("POST",)),
        r("/api/orgs", api_orgs),
        r("/api/orgs/{org_id}", api_org),
        r("/api/findings", api_findings),
        r("/api/findings/{finding_id}", api_finding),
        r("/api/findings/{finding_id}/review", api_review, ("POST",)),
        Mount("/static", app=StaticFiles(directory=str(templates_dir() / "web" / "static")), name="static"),
    ]
    if settings.oidc is not None:
        routes[:0] = [r("/login/oidc", oidc_start, auth=False), r("/login/oidc/callback", oidc_callback, auth=False)]

    app = Starlette(routes=routes, middleware=[Middleware(SecurityHeaders)])
    app.state.audit_kit = state
    return app


class SecurityHeaders:
    """ASGI middleware: the security headers on every answer (static files and Starlette's own 404/405
    too); pages are never cached, the vendored static files may be."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for k, v in SECURITY_HEADERS.items():
                    if k not in headers:
                        headers[k] = v
                if not static:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
