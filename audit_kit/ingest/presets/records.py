"""Reading JSON audit records from a file, whatever its packaging, one staged row per record.

A preset's file may be NDJSON (one record per line), one JSON document holding many records (a FHIR
Bundle, a CloudTrail `{"Records": [...]}` file, a JSON array), or either of those gzip-compressed.
This module finds the records and keeps the row contract: every record yields exactly one staged
row (mapped, or with `_error` saying why not); only a file that cannot be read at all is an
`InputError`. NDJSON is streamed line by line; a single JSON document must be parsed whole, so it
is refused above a size cap instead of exhausting memory.

(Why this module runs past 400 lines: telling NDJSON from one document by its first lines, and reading
each, must agree record for record with the row contract; split, the two readers would drift apart.)
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa

from audit_kit.errors import InputError
from audit_kit.schema import EVENT_INPUT_FIELDS

STAGED_COLUMNS: tuple[str, ...] = ("_row", "_raw", "_error", *EVENT_INPUT_FIELDS)
STAGED_SCHEMA = pa.schema(
    [pa.field("_row", pa.int64(), nullable=False)] + [pa.field(c, pa.string()) for c in STAGED_COLUMNS[1:]]
)
RAW_LIMIT = 2000  # characters of the source record kept for the quarantine file
# A single JSON document is parsed whole (Python objects take ~10x its size), so cap it. CloudTrail
# delivers files of a few MB; a FHIR Bundle bigger than this should be exported as NDJSON (Bulk Data).
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
HEAD_BYTES = 65536
BATCH_ROWS = 10_000
GZIP_MAGIC = b"\x1f\x8b"

Mapped = dict[str, str | None]
# A preset's mapper: a parsed record (any JSON value) -> canonical fields as strings, or raises
# Unmappable with the reason. It must not raise anything else for any JSON input.
Mapper = Callable[[Any], Mapped]
# A preset's unwrapper: a parsed JSON document -> its records, or None if it is itself one record.
Unwrapper = Callable[[Any], "list[Any] | None"]


class Unmappable(Exception):
    """A record that cannot become a canonical event; the message is the quarantine reason."""


@dataclass(frozen=True)
class Record:
    """One record found in a file: its row number, source text, and parsed value or parse error."""

    row: int
    raw: str
    value: Any = None
    error: str | None = None


def open_binary(path: Path) -> BinaryIO:
    """Open a file for reading bytes, transparently decompressing gzip (detected by magic bytes)."""
    try:
        fh: BinaryIO = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
        magic = fh.read(2)
        fh.seek(0)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if magic == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=fh, mode="rb")  # type: ignore[return-value]  # GzipFile is a BinaryIO in all but name
    return fh


def read_head(path: Path, n: int = HEAD_BYTES) -> bytes:
    """The first `n` bytes of a file, decompressed if it is gzip; a broken gzip file is an InputError."""
    with open_binary(path) as fh:
        try:
            return fh.read(n)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"{path}: not a readable gzip file: {exc}") from None


def truncate(text: str, limit: int = RAW_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def compact(value: Any) -> str:
    """A record's source text for `_raw` when it came out of a larger document."""
    return truncate(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str))


def _decode(line: bytes) -> str:
    return line.decode("utf-8-sig") if line.startswith(b"\xef\xbb\xbf") else line.decode("utf-8")


def _parse_error(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "JSON nested too deeply to read"
    if isinstance(exc, UnicodeDecodeError):
        return f"invalid UTF-8 at byte {exc.start}"
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON: {exc.msg} (column {exc.colno})"
    return f"invalid JSON: {exc}"


def iter_records(
    path: Path, unwrap: Unwrapper, max_document_bytes: int = MAX_DOCUMENT_BYTES
) -> Iterator[Record]:
    """Every record in the file, in order, numbered by line (NDJSON) or by entry (documents).

    The layout is decided from the first non-blank line: a complete JSON value there means NDJSON
    (so a bad later line is one error row, not a lost file); otherwise the file is one document.
    If the first line is a container (a Bundle, a CloudTrail Records file), its entries and those of
    any later lines are numbered by entry across the file, 1-based.
    """
    fh = open_binary(path)
    try:
        yield from _iter(path, fh, unwrap, max_document_bytes)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    finally:
        fh.close()


def _too_big(path: Path, cap: int, what: str) -> InputError:
    return InputError(
        f"{path}: {what} is larger than the {cap // (1024 * 1024) or cap} "
        f"{'MiB' if cap >= 1024 * 1024 else 'bytes'} a single JSON document may be",
        hint="convert it to NDJSON, one record per line (e.g. jq -c '.Records[]' or '.entry[].resource'), "
        "which is streamed",
    )


def _parses(line: bytes) -> bool:
    try:
        return isinstance(json.loads(_decode(line)), (dict, list))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False


class BrokenDocument(InputError):
    """A file laid out as one JSON document (its first line opens a value it does not close) that does not
    parse: refused whole, unless the caller knows the file is JSON lines (then it is bad lines)."""


def read_document(path: Path, cap: int = MAX_DOCUMENT_BYTES) -> Any:
    """The parsed document if the file is one pretty-printed JSON document (its first non-blank line
    opens a value it does not close, and the next line is not a JSON value of its own); None when the
    file is JSON lines or does not start like JSON. A document that does not parse is an InputError."""
    fh = open_binary(path)
    try:
        first = b""
        while not first.strip():
            first = fh.readline(cap + 1)
            if not first:
                return None
        if first.lstrip()[:1] not in (b"{", b"[") or _parses(first):
            return None
        peeked: list[bytes] = []
        nxt = b""
        while not nxt.strip() and first.strip() not in (b"{", b"["):
            nxt = fh.readline(cap + 1)
            if not nxt:
                break
            peeked.append(nxt)
        if nxt.strip() and len(nxt) <= cap and _parses(nxt):
            return None
        head = first + b"".join(peeked)
        data = head + fh.read(max(0, cap + 1 - len(head)))
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    finally:
        fh.close()
    if len(data) > cap:
        raise _too_big(path, cap, "the JSON document")
    try:
        return json.loads(_decode(data))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BrokenDocument(f"{path}: not a valid JSON document: {_parse_error(exc)}") from None


def _iter(path: Path, fh: BinaryIO, unwrap: Unwrapper, cap: int) -> Iterator[Record]:
    line_no = 0
    first = b""
    while not first.strip():  # skip leading blank lines
        first = fh.readline(cap + 1)
        if not first:
            return
        line_no += 1
    if len(first) > cap:
        raise _too_big(path, cap, f"line {line_no}")
    try:
        value = json.loads(_decode(first))
        one_line = True
    except (ValueError, UnicodeDecodeError, RecursionError):
        one_line = False
    if not one_line and first.lstrip()[:1] in (b"{", b"["):
        # Either a pretty-printed document or NDJSON whose first line is broken: the next non-blank
        # line tells them apart (a document's second line is never a JSON value of its own).
        peeked: list[bytes] = []
        nxt = b""
        # A bare opener line ("[" or "{") always starts a document, whatever follows.
        while not nxt.strip() and first.strip() not in (b"{", b"["):
            nxt = fh.readline(cap + 1)
            if not nxt:
                break
            peeked.append(nxt)
        if nxt.strip() and len(nxt) <= cap and _parses(nxt):
            lines = _chain([first, *peeked], fh, cap, path, line_no - 1)
            yield from _ndjson(lines, unwrap, line_no - 1, None)
            return
        head = first + b"".join(peeked)
        data = head + fh.read(max(0, cap + 1 - len(head)))
        if len(data) > cap:
            raise _too_big(path, cap, "the JSON document")
        try:
            doc = json.loads(_decode(data))
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise InputError(f"{path}: not a valid JSON document: {_parse_error(exc)}") from None
        entries = _unwrap(unwrap, doc)
        if entries is None:
            yield Record(1, compact(doc), doc)
        else:
            for i, entry in enumerate(entries, 1):
                yield Record(i, compact(entry), entry)
        return
    counter = [0] if one_line and _unwrap(unwrap, value) is not None else None
    yield from _ndjson(_chain([first], fh, cap, path, line_no - 1), unwrap, line_no - 1, counter)


def _chain(head: list[bytes], fh: BinaryIO, cap: int, path: Path, offset: int) -> Iterator[bytes]:
    """The lines already read, then the rest of the file; a line over the cap is an InputError."""
    n = offset
    for line in head:
        n += 1
        yield line
    while True:
        line = fh.readline(cap + 1)
        if not line:
            return
        n += 1
        if len(line) > cap:
            raise _too_big(path, cap, f"line {n}")
        yield line


def _unwrap(unwrap: Unwrapper, value: Any) -> list[Any] | None:
    try:
        return unwrap(value)
    except Exception:  # an unwrapper bug must not lose the record: treat it as a single record
        return None


def _ndjson(lines: Any, unwrap: Unwrapper, offset: int, counter: list[int] | None) -> Iterator[Record]:
    """Records of NDJSON lines; `counter` set means entries are numbered across the file."""
    line_no = offset
    for line in lines:
        line_no += 1
        if not line.strip():
            continue
        text: str | None = None
        try:
            text = _decode(line).rstrip("\r\n")
            value = json.loads(text)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raw = text if text is not None else line.decode("utf-8", "replace").rstrip("\r\n")
            row = line_no
            if counter is not None:
                counter[0] += 1
                row = counter[0]
            yield Record(row, truncate(raw), error=_parse_error(exc))
            continue
        entries = _unwrap(unwrap, value)
        if entries is None:
            row = line_no
            if counter is not None:
                counter[0] += 1
                row = counter[0]
            yield Record(row, truncate(text), value)
        else:
            for entry in entries:
                if counter is None:
                    counter = [line_no - 1]
                counter[0] += 1
                yield Record(counter[0], compact(entry), entry)


class StagedBuilder:
    """Accumulates staged rows column-wise and hands out Arrow record batches."""

    def __init__(self) -> None:
        self._cols: dict[str, list[Any]] = {c: [] for c in STAGED_COLUMNS}

    def __len__(self) -> int:
        return len(self._cols["_row"])

    def add(self, record: Record, mapper: Mapper) -> Mapped | None:
        """Map one record and append its row; returns the mapped fields (None for an error row)."""
        fields: Mapped | None = None
        error = record.error
        if error is None:
            try:
                fields = mapper(record.value)
            except Unmappable as exc:
                error = str(exc)
            except Exception as exc:  # a mapper bug must not drop the record or the file
                error = f"cannot map record: {type(exc).__name__}: {exc}"
        self._cols["_row"].append(record.row)
        self._cols["_raw"].append(record.raw)
        self._cols["_error"].append(error)
        for name in EVENT_INPUT_FIELDS:
            v = fields.get(name) if fields else None
            self._cols[name].append(None if v is None else str(v))
        return fields

    def batch(self) -> pa.RecordBatch:
        """The rows so far as one batch; the builder is emptied."""
        out = pa.RecordBatch.from_pydict(self._cols, schema=STAGED_SCHEMA)
        self._cols = {c: [] for c in STAGED_COLUMNS}
        return out


def read_staged(
    path: Path,
    unwrap: Unwrapper,
    mapper: Mapper,
    max_document_bytes: int = MAX_DOCUMENT_BYTES,
    on_mapped: Callable[[Mapped], None] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Staged record batches (at most BATCH_ROWS rows each) for every record of the file."""
    builder = StagedBuilder()
    for record in iter_records(path, unwrap, max_document_bytes):
        fields = builder.add(record, mapper)
        if fields is not None and on_mapped is not None:
            on_mapped(fields)
        if len(builder) >= BATCH_ROWS:
            yield builder.batch()
    if len(builder):
        yield builder.batch()


def empty_table() -> pa.Table:
    return STAGED_SCHEMA.empty_table()


# --- small helpers the mappers share: total over any JSON value, never raising -------------------


def get(obj: Any, *path: str | int) -> Any:
    """obj[path[0]][path[1]]…, or None where any step is missing or of the wrong kind."""
    cur = obj
    for key in path:
        if isinstance(key, int):
            if not isinstance(cur, list) or not -len(cur) <= key < len(cur):
                return None
            cur = cur[key]
        else:
            if not isinstance(cur, dict):
                return None
            cur = cur.get(key)
    return cur


def text(value: Any) -> str | None:
    """A scalar as a stripped string (numbers and booleans included); None for empty or non-scalars."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        s = value.strip()
        return s or None
    return None


def as_list(value: Any) -> list[Any]:
    """A JSON array as a list; a single object as a one-item list; anything else as []."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value]
    return []


def first_text(*values: Any) -> str | None:
    for v in values:
        t = text(v)
        if t is not None:
            return t
    return None


def ip_or_none(value: Any) -> str | None:
    """The value if it is an IPv4/IPv6 address (a host name or service name is not a source_ip)."""
    import ipaddress

    t = text(value)
    if t is None:
        return None
    try:
        ipaddress.ip_address(t.strip("[]"))
    except ValueError:
        return None
    return t.strip("[]")
