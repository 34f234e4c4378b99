"""A tidy results table on disk: one row per finished run, written as runs finish.

``--out FILE.csv`` or ``--out FILE.parquet``. Every write replaces the file atomically (a
temporary file, then a rename), so the file on disk is always a whole, readable table of the runs
finished so far, whatever stops the sweep. Each row carries ``key``, a hash of the run's whole
configuration; resuming skips the runs whose key is already in the table. At the end the rows are
sorted by the grid's order, so a sweep stopped and resumed writes the same table as one that ran
straight through. Parquet needs pyarrow (``vmsim[cluster]``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from vmsim.errors import VmsimError

__all__ = ["MISSING_PYARROW", "TidyTable", "config_key"]

MISSING_PYARROW = "--out FILE.parquet needs pyarrow: pip install 'vmsim[cluster]' (or write FILE.csv)"
_FORMATS = {".csv": "csv", ".parquet": "parquet"}


def config_key(config: Mapping[str, Any]) -> str:
    """A run's key: the first 16 hex digits of the SHA-256 of its configuration as canonical JSON."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class TidyTable:
    """The rows of one results file. ``add`` rows as runs finish; the file is rewritten at most
    every ``interval`` seconds (and by ``flush``/``close``)."""

    def __init__(self, path: str | Path, *, resume: bool = False, overwrite: bool = False,
                 interval: float = 1.0) -> None:
        self.path = Path(path)
        fmt = _FORMATS.get(self.path.suffix.lower())
        if fmt is None:
            raise VmsimError("--out writes FILE.csv or FILE.parquet", source=str(self.path))
        self.fmt = fmt
        if fmt == "parquet":
            _pyarrow()
        self.interval = interval
        self.rows: list[dict[str, Any]] = []
        self._dirty = False
        self._last = 0.0
        if self.path.exists():
            if resume:
                self.rows = self._read()
            elif not overwrite:
                raise VmsimError("already exists; pass --resume to skip the runs it holds, or --force to replace it",
                                 source=str(self.path))

    def keys(self) -> set[str]:
        return {str(r["key"]) for r in self.rows}

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        self._dirty = True
        if time.monotonic() - self._last >= self.interval:
            self.flush()

    def flush(self) -> None:
        """Write every row now (if any changed), replacing the file atomically."""
        if not self._dirty:
            return
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        try:
            if self.fmt == "csv":
                tmp.write_text(_csv_text(self.rows), encoding="utf-8")
            else:
                _write_parquet(self.rows, tmp)
            os.replace(tmp, self.path)
        except OSError as e:
            raise VmsimError(f"cannot write the results table: {e.strerror or e}", source=str(self.path)) from e
        self._dirty = False
        self._last = time.monotonic()

    def close(self, order: Iterable[str] = ()) -> None:
        """Sort the rows (keys in ``order`` first, in that order; any other rows after, as they
        were) and write the file."""
        rank = {k: i for i, k in enumerate(order)}
        indexed = list(enumerate(self.rows))
        indexed.sort(key=lambda ir: (rank.get(str(ir[1]["key"]), len(rank)), ir[0]))
        rows = [r for _, r in indexed]
        if rows != self.rows:
            self.rows = rows
            self._dirty = True
        self.flush()

    def _read(self) -> list[dict[str, Any]]:
        try:
            if self.fmt == "csv":
                with self.path.open(newline="", encoding="utf-8") as fh:
                    rows: list[dict[str, Any]] = list(csv.DictReader(fh))
            else:
                import pyarrow.parquet as pq

                rows = pq.read_table(self.path).to_pylist()
        except Exception as e:  # OSError, a bad CSV, or pyarrow's own errors (not Parquet, truncated)
            raise VmsimError(f"cannot read the results table to resume: {e}", source=str(self.path)) from e
        if rows and "key" not in rows[0]:
            raise VmsimError("is not a vmsim results table (no 'key' column)", source=str(self.path))
        return rows


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(k for r in rows for k in r))


def _csv_text(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=_columns(rows), lineterminator="\n", restval="")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError as e:
        raise VmsimError(MISSING_PYARROW) from e
    return pyarrow


def _write_parquet(rows: list[dict[str, Any]], path: Path) -> None:
    pa = _pyarrow()
    import pyarrow.parquet as pq

    cols = _columns(rows)
    table = pa.Table.from_pylist([{c: r.get(c) for c in cols} for r in rows])
    pq.write_table(table, path)
