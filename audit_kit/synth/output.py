"""Writing a world to disk in the dataset contract: CSV with a header, ISO 8601 UTC times with Z.

Columns are built with pyarrow (dictionary decoding, vectorised formatting) and written with its
CSV writer, so ten million events never pass through Python one row at a time.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from audit_kit.schema import ACTIONS, CONTRACT_EVENT_FIELDS, DEFAULT_TIMEZONE, ORG_TYPES, OUTCOMES
from audit_kit.synth.clock import iso_utc
from audit_kit.synth.population import INVOLVEMENT_ROLE, ROLES, WORKING_HOURS, World
from audit_kit.synth.traffic import AUTH_METHODS, PURPOSES

TRUTH_COLUMNS = ("user_id", "org_id", "category", "first_seen", "last_seen")
EVENTS_DIR = "events"


def write_table(table: pa.Table, path: Path) -> None:
    """CSV with an unquoted header; values never need quoting (the writer refuses if one would)."""
    with path.open("wb") as fh:
        fh.write((",".join(table.column_names) + "\n").encode())
        pacsv.write_csv(
            table, fh, pacsv.WriteOptions(include_header=False, quoting_style="none", batch_size=1 << 16)
        )


def _dates(arr: np.ndarray) -> pa.Array:
    return pa.array(arr.astype("datetime64[D]"), type=pa.date32())


def _decode(idx: np.ndarray, dictionary: pa.Array) -> pa.Array:
    """Strings for integer codes; -1 → null."""
    indices = pa.array(idx.astype(np.int32), mask=idx < 0)
    return pa.DictionaryArray.from_arrays(indices, dictionary).dictionary_decode()


def iso_z(ts: np.ndarray) -> pa.Array:
    """ISO 8601 UTC strings with Z for epoch seconds (cast + edit: ~10x faster than strftime)."""
    text = pc.cast(pa.array(ts.astype("datetime64[s]")), pa.string())  # "2026-10-01 12:00:00"
    return pc.binary_join_element_wise(pc.replace_substring(text, " ", "T", max_replacements=1), "Z", "")


def record_ids(n: int) -> pa.Array:
    """Record ids R0000001… for child indexes 0…n-1."""
    nums = pc.cast(pa.array(np.arange(1, n + 1, dtype=np.int64)), pa.string())
    return pc.binary_join_element_wise("R", pc.utf8_lpad(nums, width=7, padding="0"), "")


def write_reference(world: World, out: Path) -> list[Path]:
    """organisations.csv, users.csv, subjects.csv, involvements.csv."""
    w = world
    paths = []
    orgs = pa.table(
        {
            "org_id": w.org_ids,
            "name": w.org_names,
            "type": [ORG_TYPES[t] for t in w.org_type],
            "area": [w.areas[a] if a >= 0 else "national" for a in w.org_area],
            "timezone": [DEFAULT_TIMEZONE] * w.n_orgs,
            "working_hours": [WORKING_HOURS[t] for t in w.org_type],
        }
    )
    paths.append(out / "organisations.csv")
    write_table(orgs, paths[-1])

    org_ids = pa.array(w.org_ids)
    users = pa.table(
        {
            "user_id": w.user_ids,
            "org_id": _decode(w.user_org, org_ids),
            "role": _decode(w.user_role.astype(np.int32), pa.array(ROLES)),
            "start_date": _dates(w.user_start),
            "end_date": _dates(w.user_end),
            "family_key": pa.array(list(w.user_family_key), type=pa.string()),
            "mfa_enrolled": pa.array(w.user_mfa),
            "vetted_on": _dates(w.user_vetted),
            "trained_on": _dates(w.user_trained),
        }
    )
    if "family_key" in w.params.drop_columns:
        users = users.drop_columns(["family_key"])
    paths.append(out / "users.csv")
    write_table(users, paths[-1])

    rids = record_ids(w.n_children)
    subjects = pa.table(
        {
            "record_id": rids,
            "home_area": _decode(w.child_area, pa.array(w.areas)),
            "shielded": pa.array(w.child_shielded),
            "family_key": _decode(w.child_family, pa.array(w.family_keys.astype(str))),
            "birth_year": pa.array(w.child_birth_year),
        }
    )
    if "family_key" in w.params.drop_columns:
        subjects = subjects.drop_columns(["family_key"])
    paths.append(out / "subjects.csv")
    write_table(subjects, paths[-1])

    rec = w.inv_recorded  # the stress knob `missing_involvements` leaves some out of the file
    involvements = pa.table(
        {
            "record_id": rids.take(pa.array(w.inv_rec[rec])),
            "org_id": _decode(w.inv_org[rec], org_ids),
            "role": _decode(w.org_type[w.inv_org[rec]].astype(np.int32), pa.array(INVOLVEMENT_ROLE)),
            "start_date": _dates(w.inv_start[rec]),
            "end_date": _dates(w.inv_end[rec]),
        }
    )
    paths.append(out / "involvements.csv")
    write_table(involvements, paths[-1])
    return paths


def write_events(world: World, events: dict[str, np.ndarray], out: Path, progress_step=None) -> list[Path]:
    """events/events-YYYY-MM.csv (one file per UTC month), sorted by time, event ids in that order."""
    w = world
    folder = out / EVENTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    n = len(events["ts"])
    months = events["ts"].astype("datetime64[s]").astype("datetime64[M]")
    cuts = np.nonzero(months[1:] != months[:-1])[0] + 1
    bounds = np.concatenate([[0], cuts, [n]])
    dicts = {
        "user": pa.array(w.user_ids),
        "org": pa.array(w.org_ids),
        "rec": record_ids(w.n_children),
        "action": pa.array(ACTIONS),
        "outcome": pa.array(OUTCOMES),
        "ip": pa.array(w.ip_strings),
        "auth": pa.array(AUTH_METHODS),
        "purpose": pa.array(PURPOSES),
    }
    prefix = f"ev{w.params.seed}-"
    paths = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        sl = {k: v[lo:hi] for k, v in events.items()}
        seq = pc.cast(pa.array(np.arange(lo + 1, hi + 1, dtype=np.int64)), pa.string())
        sess = sl["session"]
        cols = {
            "event_id": pc.binary_join_element_wise(prefix, pc.utf8_lpad(seq, width=9, padding="0"), ""),
            "timestamp": iso_z(sl["ts"]),
            "user_id": _decode(sl["user"], dicts["user"]),
            "org_id": _decode(sl["org"], dicts["org"]),
            "record_id": _decode(sl["rec"], dicts["rec"]),
            "action": _decode(sl["action"], dicts["action"]),
            "outcome": _decode(sl["outcome"], dicts["outcome"]),
            "source_ip": _decode(sl["ip"], dicts["ip"]),
            "auth_method": _decode(sl["auth"], dicts["auth"]),
            "purpose": _decode(sl["purpose"], dicts["purpose"]),
            "session_id": pc.binary_join_element_wise(
                "s", pc.cast(pa.array(sess, mask=sess < 0), pa.string()), ""
            ),
            "records_returned": pa.array(sl["nret"], mask=sl["nret"] < 0),
            "break_glass": pa.array(sl["bg"] == 1, mask=sl["bg"] < 0),
        }
        assert tuple(cols) == CONTRACT_EVENT_FIELDS
        for dropped in w.params.drop_columns:  # a stress cell's log without these optional columns
            cols.pop(dropped, None)
        month = str(months[lo])
        path = folder / f"events-{month}.csv"
        write_table(pa.table(cols), path)
        paths.append(path)
        if progress_step:
            progress_step(hi - lo)
    return paths


def write_rows(path: Path, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    """A small CSV (truth files) through the csv module."""
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
    return path


def truth_rows(world: World, truth: list) -> list[tuple[str, str, str, str, str]]:
    """One row per (user, org, category): the scenario's first and last event, ISO 8601 UTC."""
    merged: dict[tuple[int, int, str], list[int]] = {}
    for t in truth:
        key = (t.user, t.org, t.category)
        if key in merged:
            merged[key][0] = min(merged[key][0], t.first)
            merged[key][1] = max(merged[key][1], t.last)
        else:
            merged[key] = [t.first, t.last]
    rows = [
        (
            world.user_ids[u] if u >= 0 else "",
            world.org_ids[o],
            cat,
            iso_utc(first),
            iso_utc(last),
        )
        for (u, o, cat), (first, last) in merged.items()
    ]
    return sorted(rows, key=lambda r: (r[2], r[3], r[0], r[1]))
