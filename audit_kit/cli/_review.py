"""What the review's commands share: opening the people store, refreshing it from the analytical store,
and the --reviewer option."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from audit_kit.app.context import RunContext, resolve
from audit_kit.errors import InputError, WorkspaceError
from audit_kit.store.people import PeopleStore
from audit_kit.store.workspace import DB_FILE

ReviewerOption = typer.Option(
    None, "--reviewer", "-r", help="Who is acting (default $AUDIT_KIT_REVIEWER, else your login name)."
)


def context(workspace: Path, config: Path | None = None, notify: bool = False) -> RunContext:
    """The run context of a review command (configuration and secrets only when it notifies)."""
    if not (Path(workspace) / DB_FILE).exists():
        raise WorkspaceError(f"{workspace}: no audit-kit workspace here",
                             hint=f"run `audit-kit ingest DATASET_DIR --workspace {workspace}` first")
    return resolve(workspace, config, judges=notify, notify=notify)


@contextmanager
def people_store(ctx: RunContext, refresh: bool = True) -> Iterator[tuple[PeopleStore, str | None]]:
    """The people store, refreshed from the workspace's stored findings when the workspace is free.

    Yields (PeopleStore, note): the note says why the refresh was skipped (a scan is running), or None.
    """
    from audit_kit.review import sync_findings

    note = None
    people = PeopleStore.open(ctx.workspace)
    try:
        if refresh:
            try:
                ws = ctx.open_workspace(read_only=True)
            except WorkspaceError as exc:
                note = f"showing findings as last published ({exc.message})"
            else:
                try:
                    sync_findings(ws, people, ctx.now)
                finally:
                    ws.close()
        yield people, note
    finally:
        people.close()


def who(ctx: RunContext, reviewer: str | None) -> str:
    name = (reviewer or ctx.reviewer or "").strip()
    if not name:
        raise InputError("who is acting? pass --reviewer NAME or set $AUDIT_KIT_REVIEWER")
    return name
