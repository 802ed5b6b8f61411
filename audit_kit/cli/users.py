"""`audit-kit users`: who may sign in to the web app (`audit-kit serve`), with which role."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import typer

from audit_kit.app.context import resolve
from audit_kit.app.readmodels import refresh_read_models
from audit_kit.cli._common import OutputFormat, WorkspaceOption, emit_json, emit_table, stderr, stdout
from audit_kit.errors import InputError
from audit_kit.store import web
from audit_kit.store.people import PeopleStore
from audit_kit.web.auth import check_new_user, hash_password

users_app = typer.Typer(
    help="People who may use the web app: reviewers, DPOs (one body each) and admins.\n\n"
    "Example: printf '%s\\n' \"$PW\" | audit-kit users add jsmith --role dpo --org GP-007 -w ws --password-stdin",
    no_args_is_help=True,
)


def _known_orgs(workspace: Path) -> set[str] | None:
    """The workspace's body ids, from the published read models (publishing them first if need be)."""
    with PeopleStore.open(workspace) as people:
        if web.publication(people) is not None:
            return {o.org_id for o in web.list_orgs(people)}
    ctx = resolve(workspace, judges=False)
    outcome = refresh_read_models(workspace, ctx.limits, catalogues=ctx.catalogues)
    if outcome.publication is None:
        return None
    with PeopleStore.open(workspace) as people:
        return {o.org_id for o in web.list_orgs(people)}


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise InputError("no password given", hint="pipe it in with --password-stdin (never on the command line)")
    first = typer.prompt("Password", hide_input=True)
    if typer.prompt("Again", hide_input=True) != first:
        raise InputError("the two passwords differ")
    return str(first)


@users_app.command("add")
def add_cmd(
    username: str = typer.Argument(..., help="Sign-in name (letters, digits, . _ @ -)."),
    role: str = typer.Option(..., "--role", "-r", help="reviewer (every body), dpo (one body) or admin (users only)."),
    org: str | None = typer.Option(None, "--org", help="The DPO's body (org_id)."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from the first line of stdin."),
    oidc_subject: str | None = typer.Option(None, "--oidc-subject", help="Link to an identity provider's 'ISSUER|sub' "
                                            "(sign-in through OpenID Connect; then no password is needed)."),
    workspace: Path = WorkspaceOption,
) -> None:
    """Add a user. Passwords are hashed with argon2id; at least 12 characters.

    Examples:

      printf '%s\\n' "$PW" | audit-kit users add asmith --role reviewer -w ws --password-stdin

      printf '%s\\n' "$PW" | audit-kit users add jdoe --role dpo --org GP-007 -w ws --password-stdin

      audit-kit users add kjones --role dpo --org LA-001 -w ws --oidc-subject 'https://idp.example|8f2c…'
    """
    known = _known_orgs(workspace) if org else None
    check_new_user(username, role, org, known)
    if org and known is None:
        stderr.print(f"warning: no organisations published yet; --org {org} was not checked")
    hashed = None if (oidc_subject and not password_stdin) else hash_password(_read_password(password_stdin))
    with PeopleStore.open(workspace) as people:
        web.restrict_permissions(people)
        if web.get_user(people, username):
            raise InputError(f"user {username!r} already exists", hint="pick another name, or `users password`")
        try:
            web.add_user(people, username, role, org, hashed, "cli", web.utcnow(), oidc_subject=oidc_subject)
        except sqlite3.IntegrityError:
            raise InputError(f"--oidc-subject {oidc_subject!r} is already linked to another user") from None
    stdout.print(f"added {username} ({role}{', ' + org if org else ''})")


@users_app.command("password")
def password_cmd(
    username: str = typer.Argument(...),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the new password from stdin."),
    workspace: Path = WorkspaceOption,
) -> None:
    """Set a new password (and unlock the account).

    Example: printf '%s\\n' "$PW" | audit-kit users password jdoe -w ws --password-stdin
    """
    hashed = hash_password(_read_password(password_stdin))
    with PeopleStore.open(workspace) as people:
        if web.get_user(people, username) is None:
            raise InputError(f"no user {username!r}", hint="`audit-kit users list` shows them")
        web.set_password_hash(people, username, hashed)
    stdout.print(f"password of {username} changed")


def _set(username: str, workspace: Path, disabled: bool) -> None:
    with PeopleStore.open(workspace) as people:
        if not web.set_disabled(people, username, disabled):
            raise InputError(f"no user {username!r}", hint="`audit-kit users list` shows them")
    stdout.print(f"{username} {'disabled (signed out everywhere)' if disabled else 'enabled'}")


@users_app.command("disable")
def disable_cmd(username: str = typer.Argument(...), workspace: Path = WorkspaceOption) -> None:
    """Disable a user and end their sessions at once (the record and its access log stay).

    Example: audit-kit users disable jdoe -w ws
    """
    _set(username, workspace, True)


@users_app.command("enable")
def enable_cmd(username: str = typer.Argument(...), workspace: Path = WorkspaceOption) -> None:
    """Enable a disabled user again.

    Example: audit-kit users enable jdoe -w ws
    """
    _set(username, workspace, False)


@users_app.command("list")
def list_cmd(
    workspace: Path = WorkspaceOption,
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="table or json."),
) -> None:
    """List users, their role, body and state.

    Example: audit-kit users list -w ws --format json
    """
    with PeopleStore.open(workspace) as people:
        users = web.list_users(people)
    rows = [{"username": u.username, "role": u.role, "org_id": u.org_id,
             "state": "disabled" if u.disabled else "locked" if u.locked_until else "active",
             "created_at": u.created_at.isoformat(), "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
             "oidc_subject": u.oidc_subject} for u in users]
    if fmt is OutputFormat.json:
        emit_json(rows)
    else:
        emit_table(rows, ["username", "role", "org_id", "state", "last_login_at"], title=f"{len(rows)} user(s)")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
