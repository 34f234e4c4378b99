"""A tidy results table on disk: one row per finished run, written as runs finish.

``--out FILE.csv`` or ``--out FILE.parquet``. Every write replaces the file atomically (a
temporary file, then a rename), so the file on disk is always a whole, readable table of the runs
finished so far, whatever stops the sweep. Each row carries ``key``, a hash of the run's whole
configuration; resuming skips the runs whose key is already in the table. At the end the rows are
sorted by the grid's order, so a sweep stopped and resumed writes the same table as one that ran
straight through. Parquet needs pyarrow (``vmsim[cluster]``).

Resuming refuses, before any run and leaving the file as it is, a file that is not a vmsim table
(unreadable, or without the columns a sweep writes) or a table of another sweep (a row whose key
is not a run of this grid). An empty file (0 bytes) holds no runs: it is resumed as a new table.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from vmsim.errors import VmsimError, check_output

__all__ = ["MISSING_PYARROW", "TidyTable", "config_key"]

MISSING_PYARROW = "--out FILE.parquet needs pyarrow: pip install 'vmsim[cluster]' (or write FILE.csv)"
_FORMATS = {".csv": "csv", ".parquet": "parquet"}


def config_key(config: Mapping[str, Any]) -> str:
    """A run's key: the first 16 hex digits of the SHA-256 of its configuration as canonical JSON."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class TidyTable:
    """The rows of one results file. ``add`` rows as runs finish; the file is rewritten at most
    every ``interval`` seconds (and by ``flush``/``close``).

    With ``resume`` an existing file is read; given ``columns`` (that the table must have) and
    ``keys`` (the runs of this grid), a file without those columns, or with a row whose key is
    not in ``keys``, is refused."""

    def __init__(
        self,
        path: str | Path,
        *,
        resume: bool = False,
        overwrite: bool = False,
        interval: float = 1.0,
        columns: Sequence[str] = ("run", "key"),
        keys: Collection[str] | None = None,
    ) -> None:
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
        check_output(
            self.path, force=resume or overwrite, hint="use --resume to skip the runs it holds, or --force to replace it"
        )
        if resume and self.path.exists():
            self.rows = self._read(columns, keys)

    def keys(self) -> set[str]:
        """Keys of the rows held (a resumed sweep skips them)."""
        return {str(r["key"]) for r in self.rows}

    def add(self, row: dict[str, Any]) -> None:
        """Append a row; written out at most every ``interval`` seconds."""
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

    def _read(self, columns: Sequence[str], keys: Collection[str] | None) -> list[dict[str, Any]]:
        """The rows of the file to resume, checked (see the class); an empty file has none."""
        src = str(self.path)
        lines: list[int | None] = []  # where each row starts, for a CSV
        try:
            if self.path.stat().st_size == 0:
                return []
            if self.fmt == "csv":
                with self.path.open(newline="", encoding="utf-8") as fh:
                    reader = csv.DictReader(fh)
                    header = list(reader.fieldnames or [])
                    rows: list[dict[str, Any]] = []
                    line = reader.line_num + 1
                    for row in reader:
                        if None in row or None in row.values():  # more or fewer fields than the header
                            raise VmsimError(
                                f"not a vmsim results table: this row does not have the header's "
                                f"{len(header)} fields; not resuming it",
                                source=src,
                                line=line,
                            )
                        rows.append(row)
                        lines.append(line)
                        line = reader.line_num + 1
            else:
                import pyarrow.parquet as pq

                table = pq.read_table(self.path)
                header, rows = list(table.column_names), table.to_pylist()
        except VmsimError:
            raise
        except Exception as e:  # OSError, a bad CSV, or pyarrow's own errors (not Parquet, truncated)
            why = " ".join(str(e).split()) or type(e).__name__
            raise VmsimError(f"cannot read the results table to resume: {why}", source=src) from e
        missing = [c for c in columns if c not in header]
        if "run" in missing or "key" in missing:
            raise VmsimError(
                "not a vmsim results table (no 'run' and 'key' columns); not resuming it "
                "(use --force to replace it, or another --out)",
                source=src,
            )
        if missing:
            shown = ", ".join(map(repr, missing[:3])) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
            raise VmsimError(
                f"not a results table of this sweep: no column {shown}; not resuming it "
                "(use --force to replace it, or another --out)",
                source=src,
            )
        for i, row in enumerate(rows):
            if keys is not None and str(row["key"]) not in keys:
                raise VmsimError(
                    f"run {row.get('run')} (key {row['key']}) is not a run of this sweep's grid: the table "
                    "is from another sweep; not resuming it (use --force to replace it, or another --out)",
                    source=src,
                    line=lines[i] if lines else None,
                )
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
