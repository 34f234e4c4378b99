"""Binary traces: libCacheSim's ``oracleGeneral`` and vmsim's own memory-mappable format.

- ``oracleGeneral`` (libCacheSim): packed little-endian 24-byte records ``u32 time, u64 object id,
  u32 size, i64 next access``, plain, gzip or zstd. Each request is one access to the page named by
  its object id (the top bit dropped: page numbers are 63-bit); sizes and times are ignored, every
  request is a read, one process. With ``object_pages`` (``--object-pages``) a request of ``size``
  bytes touches ``ceil(size / page_size)`` pages, in order: the object id's page, then pages
  numbered by a 63-bit mix of the id and the page's index in the object (distinct for every pair
  but with a probability of about n**2 / 2**64).
- ``vmsim``: a 16-byte header (``VMSIMTR`` + version byte 1, u32 flags, u32 reserved) and then
  16-byte records ``i64 page, i32 process, u8 write, 3 bytes padding``, uncompressed, read through
  a memory map at disk speed; it keeps write flags and process ids. ``vmsim convert`` writes both.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np

from vmsim.errors import TraceError, VmsimError
from vmsim.hw.access import CHUNK, Chunk, NextAccesses
from vmsim.policies.base import NEVER

ORACLE = np.dtype([("time", "<u4"), ("obj", "<u8"), ("size", "<u4"), ("next", "<i8")])
VMSIM = np.dtype([("page", "<i8"), ("pid", "<i4"), ("write", "u1"), ("pad", "V3")])
MAGIC = b"VMSIMTR\x01"
HEADER = 16
_ZSTD = b"\x28\xb5\x2f\xfd"
_GZIP = b"\x1f\x8b"
_PAGE_MASK = np.uint64((1 << 63) - 1)


def _raw(path: Path) -> IO[bytes]:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise VmsimError("no such file", source=str(path)) from None
    except OSError as e:
        raise VmsimError(f"cannot read: {e.strerror or e}", source=str(path)) from None


def open_stream(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed if it is gzip or zstd (zstd needs the zstandard package)."""
    raw = _raw(path)
    magic = raw.read(4)
    raw.seek(0)
    if magic[:2] == _GZIP:
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if magic == _ZSTD:
        try:
            import zstandard
        except ImportError:
            raw.close()
            need = "a zstd-compressed trace needs the zstandard package (pip install zstandard)"
            raise VmsimError(need, source=str(path)) from None
        return zstandard.ZstdDecompressor().stream_reader(raw)
    return raw


def sniff(path: Path) -> str | None:
    """``vmsim`` or ``oracleGeneral`` if the file is one of the binary formats, else None."""
    try:
        with open_stream(path) as fh:
            head = fh.read(240)
    except (OSError, EOFError, zlib.error):
        return None
    if head.startswith(MAGIC):
        return "vmsim"
    if b"\x00" in head and ("oracleGeneral" in path.name or len(head) % ORACLE.itemsize == 0):
        return "oracleGeneral"
    return None


def _object_pages(objs: np.ndarray, sizes: np.ndarray, page_size: int) -> np.ndarray:
    """Every page of every object, object after object (see the module doc)."""
    counts = np.maximum(1, -(-sizes.astype(np.int64) // page_size))
    first = np.repeat(objs & _PAGE_MASK, counts)
    starts = np.cumsum(counts) - counts
    j = np.arange(int(counts.sum()), dtype=np.uint64) - np.repeat(starts, counts).astype(np.uint64)
    z = first ^ (j * np.uint64(0x9E3779B97F4A7C15))
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return np.where(j == 0, first, z & _PAGE_MASK).astype(np.int64)


def _next_offset(pages: np.ndarray, raw: np.ndarray, source: str) -> int | None:
    """How the trace numbers requests in its next-access field (0 or 1 for its first request),
    judged on its first chunk by the check every chunk gets (NextAccesses.positions), and at least
    one next access must fall in the chunk. None: the field does not say (vmsim computes the next
    accesses itself)."""
    for off in (0, 1):
        try:
            at = NextAccesses(raw, off, 0, None, source).positions(pages)
        except TraceError:
            continue
        if np.any((at >= 0) & (at < len(pages))):
            return off
    return None


def oracle_chunks(path: Path, limit: int | None = None, size: int = CHUNK, object_pages: int | None = None) -> Iterator[Chunk]:
    """The requests of an oracleGeneral trace as chunks of page numbers (reads, one process);
    ``object_pages`` (a page size): each request touches all its object's pages. ``limit``
    counts requests. Without ``object_pages`` each chunk carries the trace's next accesses
    (``Chunk.nexts``, checked where they are used) once its first chunk shows the field is right."""
    left = limit
    rest = b""
    start = 0
    off: int | None = None
    with open_stream(path) as fh:
        while left is None or left > 0:
            try:
                data = fh.read(size * ORACLE.itemsize)
            except (OSError, EOFError, zlib.error) as e:
                raise VmsimError(f"cannot decompress: {e}", source=str(path)) from None
            if not data:
                break
            data = rest + data
            whole = len(data) - len(data) % ORACLE.itemsize
            rest = data[whole:]
            recs = np.frombuffer(data, ORACLE, count=whole // ORACLE.itemsize)
            if left is not None:
                recs = recs[:left]
                left -= len(recs)
            if len(recs) and object_pages:
                yield Chunk(_object_pages(recs["obj"], recs["size"], object_pages))
            elif len(recs):
                pages = (recs["obj"] & _PAGE_MASK).astype(np.int64)
                if start == 0:
                    off = _next_offset(pages, recs["next"], str(path))
                nexts = None if off is None else NextAccesses(recs["next"], off, start, limit, str(path))
                yield Chunk(pages, nexts=nexts)
                start += len(recs)
    if rest:
        raise TraceError(
            f"oracleGeneral records are {ORACLE.itemsize} bytes; the file ends {len(rest)} bytes into one", source=str(path)
        )


def vmsim_chunks(path: Path, limit: int | None = None, size: int = CHUNK) -> Iterator[Chunk]:
    """The accesses of a vmsim binary trace, read through a memory map."""
    total = check_vmsim(path)
    if total == 0:
        return
    recs = np.memmap(path, VMSIM, mode="r", offset=HEADER, shape=(total,))
    flags = int(np.frombuffer(_header(path)[8:12], "<u4")[0])
    n = total if limit is None else min(limit, total)
    for i in range(0, n, size):
        r = recs[i : min(n, i + size)]
        writes = np.ascontiguousarray(r["write"]) if flags & 1 else None
        pids = r["pid"].astype(np.int64) if flags & 2 else None
        yield Chunk(np.ascontiguousarray(r["page"]), writes, pids)


def _header(path: Path) -> bytes:
    with _raw(path) as fh:
        return fh.read(HEADER)


def check_vmsim(path: Path) -> int:
    """The number of records of a vmsim binary trace, after checking its header and length."""
    head = _header(path)
    if len(head) < HEADER or not head.startswith(MAGIC):
        raise TraceError("not a vmsim binary trace (no VMSIMTR header, or another version)", source=str(path))
    body = path.stat().st_size - HEADER
    if body % VMSIM.itemsize:
        raise TraceError(f"vmsim binary records are {VMSIM.itemsize} bytes; the file ends part-way into one", source=str(path))
    return body // VMSIM.itemsize


def write_oracle(chunks: Iterator[Chunk], out: IO[bytes]) -> int:
    """Write the accesses as oracleGeneral requests (size 1, time = index, next access filled in
    from a pass over the whole stream; -1 when there is none); returns the count."""
    from vmsim.vm.future import next_use

    held = [Chunk(c.pages.astype(np.int64)) for c in chunks]  # pages only: one process, reads
    allp = np.concatenate([c.pages for c in held]) if held else np.empty(0, np.int64)
    n = len(allp)
    nxt = next_use(held)
    nxt[nxt >= NEVER] = -1  # libCacheSim's "never requested again"
    recs = np.zeros(n, ORACLE)
    recs["time"] = np.arange(n, dtype=np.uint64).astype(np.uint32)
    recs["obj"] = allp.astype(np.uint64)
    recs["size"] = 1
    recs["next"] = nxt
    out.write(recs.tobytes())
    return n


def write_vmsim(chunks: Iterator[Chunk], out: IO[bytes]) -> int:
    """Write the accesses in vmsim's binary format (write flags and process ids kept)."""
    out.write(MAGIC + np.array([3, 0], "<u4").tobytes())
    n = 0
    for c in chunks:
        recs = np.zeros(len(c), VMSIM)
        recs["page"] = c.pages
        if c.pids is not None:
            recs["pid"] = c.pids
        if c.writes is not None:
            recs["write"] = c.writes
        out.write(recs.tobytes())
        n += len(c)
    return n
