"""libCacheSim's ``csv`` traces: one request per row, the object id in one column.

The columns are given as libCacheSim takes them (``-t "obj-id-col=2, has-header=true,
delimiter=,"``), with vmsim's ``--csv`` option: ``obj-id-col`` (1-based), ``has-header``,
``delimiter`` and ``obj-id-is-num``, plus ``op-col``, a column whose value ``set``, ``write``,
``w``, ``put``, ``update`` or ``s`` makes the request a write (vmsim's addition; other values
read). Without ``obj-id-col`` the file needs a header naming the column (obj_id, obj-id, objid,
key, id, object or obj). Numeric ids are the page numbers (the top bit dropped, as for
oracleGeneral); other ids are hashed to 63 bits (BLAKE2b, the same on every run).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vmsim.errors import TraceError, VmsimError
from vmsim.hw.access import CHUNK, Chunk

_ID_NAMES = ("obj_id", "obj-id", "objid", "key", "id", "object", "obj")
_WRITES = frozenset({"set", "write", "w", "put", "update", "s"})
_MASK = (1 << 63) - 1


@dataclass(frozen=True)
class CSVColumns:
    """Where the object id (and the operation) are, parsed from a libCacheSim-style spec."""

    obj_col: int | None = None  # 0-based
    op_col: int | None = None
    header: bool | None = None
    delimiter: str = ","
    numeric: bool | None = None

    @classmethod
    def parse(cls, spec: str | None) -> CSVColumns:
        """``obj-id-col=2, has-header=true, delimiter=,`` (any order; missing keys default)."""
        values: dict[str, str] = {}
        for part in (spec or "").split(","):  # "delimiter=," splits into "delimiter=" and "": read below
            if not part.strip():
                continue
            key, eq, value = part.partition("=")
            if not eq:
                raise VmsimError(f"--csv: {part.strip()!r} is not key=value (e.g. obj-id-col=2,has-header=true)")
            key = key.strip()
            values[key] = value.strip(" ") if key == "delimiter" else value.strip()  # a tab may be the delimiter
        if (spec or "").rstrip().endswith("delimiter=,"):
            values["delimiter"] = ","
        known = {"obj-id-col", "op-col", "has-header", "delimiter", "obj-id-is-num"}
        unknown = sorted(set(values) - known)
        if unknown:
            raise VmsimError(f"--csv: unknown key {unknown[0]!r}; keys: {', '.join(sorted(known))}")

        def col(key: str) -> int | None:
            if key not in values:
                return None
            try:
                n = int(values[key])
            except ValueError:
                raise VmsimError(f"--csv: {key} takes a column number (1 is the first), got {values[key]!r}") from None
            if n < 1:
                raise VmsimError(f"--csv: {key} counts columns from 1, got {n}")
            return n - 1

        def flag(key: str) -> bool | None:
            if key not in values:
                return None
            v = values[key].lower()
            if v not in ("true", "false"):
                raise VmsimError(f"--csv: {key} is true or false, got {values[key]!r}")
            return v == "true"

        delim = values.get("delimiter", ",") or ","
        delim = "\t" if delim in ("\\t", "tab") else delim
        if len(delim) != 1:
            raise VmsimError(f"--csv: delimiter is one character, got {delim!r}")
        return cls(col("obj-id-col"), col("op-col"), flag("has-header"), delim, flag("obj-id-is-num"))


def _page(value: str, numeric: bool | None) -> int:
    if numeric is not False:
        try:
            return int(value) & _MASK
        except ValueError:
            if numeric:
                raise
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "little") & _MASK


def csv_chunks(path: Path, spec: CSVColumns, limit: int | None = None, size: int = CHUNK) -> Iterator[Chunk]:
    """The requests of a csv trace as chunks (one process)."""
    from vmsim.workloads.binary import open_stream

    with open_stream(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")
        rows = csv.reader(text, delimiter=spec.delimiter)
        obj, op = spec.obj_col, spec.op_col
        line = 0
        if spec.header is not False:
            head = next(rows, None)
            line = 1
            names = [h.strip().lower() for h in head or []]
            if obj is None:
                found = next((i for i, h in enumerate(names) if h in _ID_NAMES), None)
                if found is None:
                    raise TraceError(
                        f"no object-id column in the header {head!r}; say which with --csv obj-id-col=N", source=str(path), line=1
                    )
                obj = found
        if obj is None:
            raise VmsimError("a csv trace without a header needs --csv obj-id-col=N", source=str(path))
        pages: list[int] = []
        writes: list[int] = []
        left = limit
        for row in rows:
            line += 1
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            try:
                pages.append(_page(row[obj].strip(), spec.numeric))
                if op is not None:
                    writes.append(row[op].strip().lower() in _WRITES)
            except (IndexError, ValueError):
                raise TraceError(f"row {row!r} has no object id in column {obj + 1}", source=str(path), line=line) from None
            if left is not None:
                left -= 1
            if len(pages) == size or left == 0:
                yield Chunk(np.array(pages, np.int64), np.array(writes, np.uint8) if op is not None else None)
                pages, writes = [], []
                if left == 0:
                    return
        if pages:
            yield Chunk(np.array(pages, np.int64), np.array(writes, np.uint8) if op is not None else None)
