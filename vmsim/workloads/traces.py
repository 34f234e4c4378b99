"""Trace readers: stream a trace file (plain or gzip) as chunks, never loading it whole.

Formats (detected from the first lines, or forced):

- ``lackey``: valgrind lackey ``I  ADDR,SIZE`` / `` L|S|M ADDR,SIZE``; each line one access on the
  page of its start address; S and M write; ``==`` banner lines are skipped.
- ``pitt``: ``hexaddr R|W`` (Pitt CS1550).
- ``rw``: ``R|W hexaddr``.
- ``pid``: ``l|s 0xaddr pid``: several processes sharing the frames; ``s`` writes.
- ``pages``: one integer page number per line (OSTEP paging-policy.py ``-f``); no page size applies.
  ``txt`` is the same format under libCacheSim's name (one object id per line).
- ``oracleGeneral`` (libCacheSim's binary requests) and ``vmsim`` (vmsim's own binary, memory
  mapped): see :mod:`vmsim.workloads.binary`.

Blank lines are skipped in every format. A line that fits no format is an error naming the file and
line number.
"""

from __future__ import annotations

import gzip
import re
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from vmsim.errors import TraceError, VmsimError
from vmsim.hw.access import Chunk
from vmsim.hw.address import check_page_size
from vmsim.limits import MAX_LINE, MAX_PAGE, describe
from vmsim.workloads.formats import ALIAS, BINARY, FORMATS

_BLOCK = 1 << 20
_HEX = r"(?:0[xX])?([0-9a-fA-F]+)"
_LINE = {
    "lackey": re.compile(rb"^(?:I  |[ ][LSM] )([0-9a-fA-F]+),\d+[ \t\r]*$"),
    "pid": re.compile(rb"^[ \t]*([lsLS])[ \t]+" + _HEX.encode() + rb"[ \t]+(\d+)[ \t\r]*$"),
    "pitt": re.compile(rb"^[ \t]*" + _HEX.encode() + rb"[ \t]+([RWrw])[ \t\r]*$"),
    "rw": re.compile(rb"^[ \t]*([RWrw])[ \t]+" + _HEX.encode() + rb"[ \t\r]*$"),
    "pages": re.compile(rb"^[ \t]*(\d+)[ \t\r]*$"),
}
_DESCRIBE = {
    "lackey": "a valgrind lackey line ('I  ADDR,SIZE' or ' L|S|M ADDR,SIZE')",
    "pid": "'l|s 0xADDR PID'",
    "pitt": "'HEXADDR R|W'",
    "rw": "'R|W HEXADDR'",
    "pages": "one integer page number",
}
_BLANK = re.compile(rb"^[ \t\r]*\n", re.M)
_HEXVAL = np.full(256, 255, dtype=np.uint64)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEXVAL[_c] = _i
for _i, _c in enumerate(b"abcdef"):
    _HEXVAL[ord(chr(_c).upper())] = 10 + _i


def _open(path: Path) -> IO[bytes]:
    try:
        raw = path.open("rb")
    except FileNotFoundError:
        raise VmsimError("no such file", source=str(path)) from None
    except IsADirectoryError:
        raise VmsimError("is a directory, not a trace file", source=str(path)) from None
    except OSError as e:
        raise VmsimError(f"cannot read: {e.strerror}", source=str(path)) from None
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    raw.seek(0)
    return raw


def _blocks(path: Path) -> Iterator[tuple[int, bytes]]:
    """(number of lines before the block, block of whole lines ending in a newline)."""
    with _open(path) as fh:
        line = 0
        rest = b""
        while True:
            try:
                data = fh.read(_BLOCK)
            except (OSError, EOFError, zlib.error) as e:
                raise VmsimError(f"cannot decompress: {e}", source=str(path)) from None
            if not data:
                break
            data = rest + data
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                if len(data) > MAX_LINE:
                    raise TraceError(
                        f"line longer than {MAX_LINE:,} bytes: not a trace (no newline)", source=str(path), line=line + 1
                    )
                rest = data
                continue
            if len(data) - cut > MAX_LINE:
                raise TraceError(
                    f"line longer than {MAX_LINE:,} bytes: not a trace (no newline)",
                    source=str(path),
                    line=line + data.count(b"\n", 0, cut) + 1,
                )
            block, rest = data[:cut], data[cut:]
            yield line, block
            line += block.count(b"\n")
        if rest:
            yield line, rest + b"\n"


def _sample_lines(path: Path, n: int = 50) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []
    for base, block in _blocks(path):
        for i, text in enumerate(block.split(b"\n")[:-1]):
            if text.strip() and not text.startswith(b"=="):
                out.append((base + i + 1, text))
                if len(out) >= n:
                    return out
        if base > 100_000:
            break
    return out


def detect_format(path: str | Path) -> str:
    """The first format whose pattern every sampled line fits."""
    from vmsim.workloads import binary

    p = Path(path)
    found = binary.sniff(p)
    if found is not None:
        return found
    sample = _sample_lines(p)
    if not sample:
        raise VmsimError("the trace has no accesses", source=str(p))
    for fmt in _LINE:
        if all(_LINE[fmt].match(text) for _, text in sample):
            return fmt
    line, text = sample[0]
    for ln, t in sample:
        if not any(_LINE[f].match(t) for f in _LINE):
            line, text = ln, t
            break
    raise VmsimError(
        f"cannot tell the trace format from {text.decode(errors='replace')!r}; "
        f"formats: {', '.join(FORMATS)} (force one with --trace-format)",
        source=str(p),
        line=line,
    )


def _bad_line(path: Path, base: int, block: bytes, fmt: str) -> VmsimError:
    pat = _LINE[fmt]
    for i, text in enumerate(block.split(b"\n")[:-1]):
        if not text.strip() or (fmt == "lackey" and text.startswith(b"==")):
            continue
        if not pat.match(text):
            shown = text.decode(errors="replace")[:80]
            return VmsimError(f"malformed {fmt} line {shown!r}: expected {_DESCRIBE[fmt]}", source=str(path), line=base + i + 1)
    return VmsimError(f"malformed {fmt} data", source=str(path), line=base + 1)


def _line_of_access(block: bytes, index: int, skipped: np.ndarray | None = None) -> int:
    """The 0-based line in ``block`` of its ``index``-th access (blank and banner lines skipped)."""
    n = -1
    for i, text in enumerate(block.split(b"\n")[:-1]):
        if skipped is not None:
            if skipped[i]:
                continue
        elif not text.strip():
            continue
        n += 1
        if n == index:
            return i
    return 0


def _too_large(
    path: Path, base: int, block: bytes, index: int, skipped: np.ndarray | None = None, what: str = "page number"
) -> VmsimError:
    line = _line_of_access(block, index, skipped)
    text = block.split(b"\n")[line].decode(errors="replace")[:80]
    return TraceError(
        f"{text!r}: the {what} is larger than {describe(MAX_PAGE)}, the largest vmsim holds",
        source=str(path),
        line=base + line + 1,
    )


def _whole(digits: bytes, base: int) -> int:
    """A number of a trace line; one too long to be a page number or pid (Python refuses to
    convert more than 4,300 decimal digits) comes back as MAX_PAGE + 1, which the caller refuses."""
    if len(digits) > 40:
        return MAX_PAGE + 1
    return int(digits, base)


def _check_pages(path: Path, base: int, block: bytes, values: list[int], what: str = "page number") -> None:
    """Page numbers (or process ids) parsed with Python ints must fit the int64 arrays."""
    if values and max(values) > MAX_PAGE:
        raise _too_large(path, base, block, next(i for i, v in enumerate(values) if v > MAX_PAGE), None, what)


_HEXV = _HEXVAL.astype(np.int64)


def _lackey_fast(block: bytes, shift: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The common case, vectorised: no banner or blank lines, a size of 1 to 3 digits.

    Returns (pages, writes, is_instruction), or None when the block needs the general path.
    The address starts at column 3 and ends at the comma; digits below the page offset are
    skipped, and lines are grouped by address length so each group is a few column gathers.
    """
    a = np.frombuffer(block, dtype=np.uint8)
    starts, ends = _lines(a)
    if len(ends) == 0:
        return None
    if (ends - starts < 6).any():
        return None
    c0 = a[starts]
    c1 = a[starts + 1]
    is_i = c0 == 73
    if not (((is_i & (c1 == 32)) | ((c0 == 32) & ((c1 == 76) | (c1 == 83) | (c1 == 77)))) & (a[starts + 2] == 32)).all():
        return None
    comma = np.where(a[ends - 2] == 44, ends - 2, np.where(a[ends - 3] == 44, ends - 3, ends - 4))
    if not (a[comma] == 44).all():
        return None
    first = starts + 3
    ndig = comma - first
    if ndig.min() < 1 or ndig.max() > 16:
        return None
    # Every byte of the address and size fields is a hex digit and no other byte is: the fixed
    # columns (kind, spaces, comma, newline) are not, so counting hex digits checks them all.
    if _hex_digits(a) != int(ndig.sum() + (ends - comma - 1).sum()):
        return None
    pages = _hex_pages(a, first, ndig, shift)
    if pages is None:
        return None
    writes = ((c1 == 83) | (c1 == 77)).astype(np.uint8)
    return pages, writes, is_i


def _lines(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each newline-terminated line of a block starts, and where its newline is."""
    ends = np.flatnonzero(a == 10)
    starts = np.empty_like(ends)
    if len(ends):
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
    return starts, ends


def _hex_digits(a: np.ndarray) -> int:
    """How many bytes of a block are hex digits."""
    return int(np.count_nonzero((a - np.uint8(48)) < 10) + np.count_nonzero(((a | np.uint8(32)) - np.uint8(97)) < 6))


def _hex_pages(a: np.ndarray, first: np.ndarray, ndig: np.ndarray, shift: int) -> np.ndarray | None:
    """Page numbers of the hex addresses of ``ndig`` digits at ``first`` in ``a``: the digits above
    the page offset, gathered column by column for each address length (None if a page number
    may not fit an int64: the general path checks it)."""
    keep = ndig - (shift >> 2)
    if keep.max() > 15:
        return None
    pages = np.zeros(len(first), dtype=np.int64)
    for k in np.flatnonzero(np.bincount(np.maximum(keep, 0))).tolist():
        if k == 0:
            continue
        sel = np.flatnonzero(keep == k)
        pos = first[sel]
        v = _HEXV[a[pos]]
        for j in range(1, k):
            v = (v << 4) | _HEXV[a[pos + j]]
        pages[sel] = v
    if shift & 3:
        pages >>= shift & 3
    return pages


def _lackey_compiled(block: bytes, shift: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The compiled parse of a plain block, once numba is loaded for a compiled replay (never the
    reason it is loaded); None where the NumPy parsers must run."""
    if "vmsim.vm.jit" not in sys.modules:
        return None
    from vmsim.vm import jit

    if not jit.ready():
        return None
    from vmsim.vm.jit.parse import lackey

    a = np.frombuffer(block, dtype=np.uint8)
    most = len(block) // 7 + 1  # a plain line is at least 7 bytes
    pages, writes, is_i = np.empty(most, np.int64), np.empty(most, np.uint8), np.empty(most, np.bool_)
    n = lackey(a, shift, pages, writes, is_i)
    return None if n < 0 else (pages[:n], writes[:n], is_i[:n])


def _parse_lackey(path: Path, base: int, block: bytes, shift: int, instructions: bool) -> Chunk:
    """Vectorised: the address always starts at column 3 and ends at the line's first comma."""
    fast = _lackey_compiled(block, shift) or _lackey_fast(block, shift)
    if fast is not None:
        pages, writes, is_i = fast
        if not instructions:
            keep = ~is_i
            return Chunk(pages[keep], writes[keep])
        return Chunk(pages, writes)
    a = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero(a == 10)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    length = ends - starts
    first = np.where(length > 0, a[np.minimum(starts, len(a) - 1)], 10)
    banner = first == ord("=")
    blank = length == 0
    access = ~(banner | blank)
    s = starts[access]
    e = ends[access]
    ok = e - s >= 6
    if not ok.all():
        raise _bad_line(path, base, block, "lackey")
    c0, c1, c2 = a[s], a[s + 1], a[s + 2]
    is_i = (c0 == ord("I")) & (c1 == 32)
    is_d = (c0 == 32) & ((c1 == ord("L")) | (c1 == ord("S")) | (c1 == ord("M")))
    if not ((is_i | is_d) & (c2 == 32)).all():
        raise _bad_line(path, base, block, "lackey")
    commas = np.flatnonzero(a == 44)
    line_of = np.searchsorted(ends, commas)
    firsts, idx = np.unique(line_of, return_index=True)
    comma_at = np.full(len(ends), -1, dtype=np.int64)
    comma_at[firsts] = commas[idx]
    c = comma_at[access]
    ndig = c - (s + 3)
    if not ((c >= 0) & (ndig >= 1) & (ndig <= 16)).all():
        raise _bad_line(path, base, block, "lackey")
    after = a[np.minimum(c + 1, len(a) - 1)]
    if not ((after >= 48) & (after <= 57)).all():
        raise _bad_line(path, base, block, "lackey")
    value = np.zeros(len(s), dtype=np.uint64)
    pos = s + 3
    for k in range(int(ndig.max()) if len(s) else 0):
        live = ndig > k
        d = _HEXVAL[a[pos[live] + k]]
        if (d == 255).any():
            raise _bad_line(path, base, block, "lackey")
        value[live] = (value[live] << np.uint64(4)) | d
    shifted = value >> np.uint64(shift)
    if len(shifted) and shifted.max() > np.uint64(MAX_PAGE):
        raise _too_large(path, base, block, int(np.argmax(shifted > np.uint64(MAX_PAGE))), banner | blank)
    pages = shifted.astype(np.int64)
    writes = ((c1 == ord("S")) | (c1 == ord("M"))).astype(np.uint8)
    if not instructions:
        keep = ~is_i
        pages, writes = pages[keep], writes[keep]
    return Chunk(pages, writes)


def _pages_fast(block: bytes) -> np.ndarray | None:
    """Vectorised ``pages`` parse for blocks of only digits and newlines (None otherwise)."""
    a = np.frombuffer(block, dtype=np.uint8)
    digit = (a - np.uint8(48)) < 10
    ends = np.flatnonzero(~digit)
    if len(ends) == 0 or not (a[ends] == 10).all():
        return None
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    length = ends - starts
    if length.min() < 1 or length.max() > 18:
        return None
    out = np.empty(len(ends), dtype=np.int64)
    vals = (a - np.uint8(48)).astype(np.int64)
    for k in np.flatnonzero(np.bincount(length)).tolist():
        sel = np.flatnonzero(length == k)
        pos = starts[sel]
        v = vals[pos]
        for j in range(1, k):
            v = v * 10 + vals[pos + j]
        out[sel] = v
    return out


def _pitt_fast(block: bytes, shift: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Vectorised ``pitt`` parse of the common case, every line ``HEXADDR R|W`` with one space and
    no prefix, blank or comment (None otherwise: the regular expression takes the block)."""
    a = np.frombuffer(block, dtype=np.uint8)
    if len(a) == 0 or a[-1] != 10:
        return None
    starts, ends = _lines(a)
    ndig = ends - 2 - starts
    if ndig.min() < 1 or ndig.max() > 16:
        return None
    op = a[ends - 1] | np.uint8(32)  # r or w
    if not ((a[ends - 2] == 32) & ((op == 114) | (op == 119))).all():
        return None
    # The address bytes are all hex digits and no other byte is (space, r/w, newline are not).
    if _hex_digits(a) != int(ndig.sum()):
        return None
    pages = _hex_pages(a, starts, ndig, shift)
    return None if pages is None else (pages, (op == 119).astype(np.uint8))


def _parse_regex(path: Path, base: int, block: bytes, fmt: str, shift: int) -> Chunk:
    if fmt == "pages":
        fast = _pages_fast(block)
        if fast is not None:
            return Chunk(fast)
    if fmt == "pitt":
        pitt = _pitt_fast(block, shift)
        if pitt is not None:
            return Chunk(*pitt)
    pat = re.compile(_LINE[fmt].pattern, re.M)
    found = pat.findall(block)
    if len(found) != block.count(b"\n") - len(_BLANK.findall(block)):
        raise _bad_line(path, base, block, fmt)
    if fmt == "pages":
        values = [_whole(x, 10) for x in found]
        _check_pages(path, base, block, values)
        return Chunk(np.array(values, dtype=np.int64))
    if fmt == "pitt":
        addrs, ops = [x[0] for x in found], [x[1] for x in found]
    elif fmt == "rw":
        ops, addrs = [x[0] for x in found], [x[1] for x in found]
    else:  # pid
        ops, addrs = [x[0] for x in found], [x[1] for x in found]
    values = [_whole(x, 16) >> shift for x in addrs]
    _check_pages(path, base, block, values)
    pages = np.array(values, dtype=np.int64)
    writes = np.array([o in (b"W", b"w", b"S", b"s") for o in ops], dtype=np.uint8)
    if fmt == "pid":
        pid_values = [_whole(x[2], 10) for x in found]
        _check_pages(path, base, block, pid_values, "process id")
        pids = np.array(pid_values, dtype=np.int64)
        return Chunk(pages, writes, pids)
    return Chunk(pages, writes)


@dataclass(frozen=True)
class TraceSource:
    """A trace file as a re-iterable source of chunks (call it for a fresh pass)."""

    path: Path
    fmt: str
    page_size: int = 4096
    instructions: bool = True
    limit: int | None = None
    #: The columns of a csv trace (``--csv``), as libCacheSim names them.
    csv: str | None = None
    #: oracleGeneral: a request touches every page of its object's size (``--object-pages``).
    object_pages: bool = False

    def __call__(self) -> Iterator[Chunk]:
        if self.fmt == "csv":
            from vmsim.workloads.csvtrace import CSVColumns, csv_chunks

            yield from csv_chunks(self.path, CSVColumns.parse(self.csv), self.limit)
            return
        if self.fmt in BINARY:
            from vmsim.workloads import binary

            if self.fmt == "oracleGeneral":
                yield from binary.oracle_chunks(self.path, self.limit, object_pages=self.page_size if self.object_pages else None)
            else:
                yield from binary.vmsim_chunks(self.path, self.limit)
            return
        shift = self.page_size.bit_length() - 1
        left = self.limit
        for base, block in _blocks(self.path):
            if self.fmt == "lackey":
                chunk = _parse_lackey(self.path, base, block, shift, self.instructions)
            else:
                chunk = _parse_regex(self.path, base, block, self.fmt, shift)
            if left is not None:
                if len(chunk) >= left:
                    w, p = chunk.writes, chunk.pids
                    yield Chunk(chunk.pages[:left], None if w is None else w[:left], None if p is None else p[:left])
                    return
                left -= len(chunk)
            if len(chunk):
                yield chunk


def open_trace(
    path: str | Path,
    fmt: str | None = None,
    page_size: int = 4096,
    instructions: bool = True,
    limit: int | None = None,
    csv: str | None = None,
    object_pages: bool = False,
) -> TraceSource:
    """Check the file and options, detect the format unless given, and return a source; ``csv``
    (libCacheSim's column spec) makes it a csv trace."""
    p = Path(path)
    check_page_size(page_size, "--page-size")
    if limit is not None and limit <= 0:
        raise VmsimError(f"--limit must be a positive number of accesses, got {limit}")
    if csv is not None and fmt in (None, "auto"):
        fmt = "csv"
    if fmt == "csv":
        from vmsim.workloads.csvtrace import CSVColumns

        CSVColumns.parse(csv)
        _open(p).close()
    elif fmt is None or fmt == "auto":
        fmt = detect_format(p)
    elif fmt not in FORMATS:
        raise VmsimError(f"unknown trace format {fmt!r}; formats: {', '.join(FORMATS)}")
    elif fmt == "vmsim":
        from vmsim.workloads.binary import check_vmsim

        check_vmsim(p)
    else:
        _open(p).close()
    fmt = ALIAS.get(fmt, fmt)
    if object_pages and fmt != "oracleGeneral":
        raise VmsimError(f"--object-pages applies to oracleGeneral traces (this one is {fmt})")
    return TraceSource(p, fmt, page_size, instructions, limit, csv, object_pages)
