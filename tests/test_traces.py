"""Trace formats: detection, parsing, gzip, slices, and bad input with file and line."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from vmsim.errors import VmsimError
from vmsim.hw.access import Chunk
from vmsim.workloads import detect_format, open_trace

LACKEY = """==123== Lackey, an example Valgrind tool
==123== Command: ./a.out
I  04016b0,3
 L 1ffefffd38,8
 S 04222cac,4
I  04016b3,3
 M 0421f4c8,4

==123== Exit.
"""


def write(tmp_path: Path, name: str, text: str, gz: bool = False) -> Path:
    p = tmp_path / name
    if gz:
        with gzip.open(p, "wt") as fh:
            fh.write(text)
    else:
        p.write_text(text)
    return p


def collect(path: Path, **kw) -> Chunk:
    chunks = list(open_trace(path, **kw)())
    pages = np.concatenate([c.pages for c in chunks])
    writes = np.concatenate([c.writes if c.writes is not None else np.zeros(len(c), np.uint8) for c in chunks])
    pids = None
    if chunks and chunks[0].pids is not None:
        pids = np.concatenate([c.pids for c in chunks])
    return Chunk(pages, writes, pids)


@pytest.mark.parametrize("gz", [False, True])
def test_lackey(tmp_path: Path, gz: bool) -> None:
    p = write(tmp_path, "t.lackey" + (".gz" if gz else ""), LACKEY, gz)
    assert detect_format(p) == "lackey"
    c = collect(p)
    assert c.pages.tolist() == [0x4016B0 >> 12, 0x1FFEFFFD38 >> 12, 0x4222CAC >> 12, 0x4016B3 >> 12, 0x421F4C8 >> 12]
    assert c.writes.tolist() == [0, 0, 1, 0, 1]
    c = collect(p, instructions=False)
    assert c.pages.tolist() == [0x1FFEFFFD38 >> 12, 0x4222CAC >> 12, 0x421F4C8 >> 12]
    c = collect(p, page_size=256)
    assert c.pages.tolist()[0] == 0x4016B0 >> 8


def test_lackey_fast_path_matches_general_path(tmp_path: Path) -> None:
    """A block without banner lines takes the vectorised path; compare with the regex path."""
    rng = np.random.default_rng(3)
    lines = []
    for _ in range(5000):
        kind = rng.choice(["I ", " L", " S", " M"])
        addr = int(rng.integers(1, 1 << 44))
        lines.append(f"{kind} {addr:0{int(rng.integers(1, 12))}x},{int(rng.choice([1, 4, 8, 16, 128]))}")
    text = "\n".join(lines) + "\n"
    p = write(tmp_path, "many.lackey", text)
    for page_size in (4096, 8192, 1 << 16):
        c = collect(p, page_size=page_size)
        expect = [int(line[3 : line.index(",")], 16) >> (page_size.bit_length() - 1) for line in lines]
        assert c.pages.tolist() == expect
        assert c.writes.tolist() == [int(line[1] in "SM") for line in lines]


@pytest.mark.parametrize(
    ("fmt", "text", "pages", "writes", "pids"),
    [
        ("pitt", "0041f7a0 R\n13f5e2c0 W\n\n0x1000 r\n", [0x41F, 0x13F5E, 1], [0, 1, 0], None),
        ("rw", "R 0x1000\nW 2fff\n", [1, 2], [0, 1], None),
        ("pid", "l 0x1000 1\ns 0x2000 2\nL 0x1fff 1\n", [1, 2, 1], [0, 1, 0], [1, 2, 1]),
        ("pages", "7\n0\n 1 \n2\n", [7, 0, 1, 2], [0, 0, 0, 0], None),
    ],
)
def test_other_formats(tmp_path: Path, fmt: str, text: str, pages: list[int], writes: list[int], pids) -> None:
    p = write(tmp_path, f"t.{fmt}", text)
    assert detect_format(p) == fmt
    c = collect(p)
    assert c.pages.tolist() == pages
    assert c.writes.tolist() == writes
    assert (None if c.pids is None else c.pids.tolist()) == pids


def test_limit_slices_the_stream(tmp_path: Path) -> None:
    p = write(tmp_path, "t.pages", "".join(f"{i}\n" for i in range(100)))
    assert collect(p, limit=10).pages.tolist() == list(range(10))


@pytest.mark.parametrize(
    ("fmt", "text", "line"),
    [
        ("lackey", "I  04016b0,3\n L zz16b0,8\n", 2),
        ("lackey", "I  04016b0,3\nI  04016b0,3\nI  04016b0\n", 3),
        ("pitt", "0041f7a0 R\n0041f7a0 X\n", 2),
        ("pages", "1\n2\nthree\n", 3),
        ("pid", "l 0x1000 1\nl 0x1000\n", 2),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path: Path, fmt: str, text: str, line: int) -> None:
    p = write(tmp_path, "bad.txt", text)
    with pytest.raises(VmsimError) as e:
        list(open_trace(p, fmt)())
    assert e.value.line == line
    assert str(e.value).startswith(f"{p}:{line}: malformed {fmt} line")


def test_undetectable_format(tmp_path: Path) -> None:
    p = write(tmp_path, "x.txt", "hello world\n")
    with pytest.raises(VmsimError, match="cannot tell the trace format"):
        open_trace(p)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(VmsimError, match="no such file"):
        open_trace(tmp_path / "nope.gz")
    with pytest.raises(VmsimError, match="directory"):
        open_trace(tmp_path)


def test_corrupt_gzip(tmp_path: Path) -> None:
    p = tmp_path / "t.gz"
    p.write_bytes(gzip.compress(b"1\n2\n" * 1000)[:40])
    with pytest.raises(VmsimError, match="cannot decompress"):
        list(open_trace(p, "pages")())


def test_bad_options(tmp_path: Path) -> None:
    p = write(tmp_path, "t.pages", "1\n")
    with pytest.raises(VmsimError, match="power of two"):
        open_trace(p, page_size=1000)
    with pytest.raises(VmsimError, match="unknown trace format"):
        open_trace(p, "bogus")
    with pytest.raises(VmsimError, match="--limit"):
        open_trace(p, limit=0)


@pytest.mark.parametrize(("name", "writes", "pages"), [("bzip2", 6_318, 95), ("sort", 6_321, 96)])
def test_shared_trace_slice(name: str, writes: int, pages: int, traces: Path) -> None:
    """The first 100k accesses of each shared trace: counts pinned from this reader, checked
    against an independent line-by-line parse below."""
    src = open_trace(traces / f"{name}.lackey.gz", limit=100_000)
    chunks = list(src())
    got_pages = np.concatenate([c.pages for c in chunks])
    got_writes = np.concatenate([c.writes for c in chunks])
    assert len(got_pages) == 100_000
    expect_pages, expect_writes = [], []
    with gzip.open(traces / f"{name}.lackey.gz", "rt") as fh:
        for line in fh:
            if line.startswith("=="):
                continue
            expect_pages.append(int(line[3 : line.index(",")], 16) >> 12)
            expect_writes.append(int(line[1] in "SM"))
            if len(expect_pages) == 100_000:
                break
    assert got_pages.tolist() == expect_pages
    assert got_writes.tolist() == expect_writes
    assert int(got_writes.sum()) == writes
    assert len(set(expect_pages)) == pages


def test_the_vectorised_pitt_parse_equals_the_regular_expression(tmp_path: Path) -> None:
    import random

    from vmsim.workloads.traces import _pitt_fast

    rng = random.Random(5)
    lines = [f"{rng.randrange(1 << rng.randrange(1, 60)):{rng.choice(['x', 'X'])}} {rng.choice('RWrw')}\n" for _ in range(20_000)]
    block = "".join(lines).encode()
    for page_size in (4096, 8192, 1 << 20):
        shift = page_size.bit_length() - 1
        fast = _pitt_fast(block, shift)
        assert fast is not None
        pages = [int(x.split()[0], 16) >> shift for x in lines]
        writes = [x.split()[1] in "Ww" for x in lines]
        assert fast[0].tolist() == pages and fast[1].astype(bool).tolist() == writes
    # whatever the fast path does not take, the regular expression still reads (or refuses)
    for odd in (b"0x1f000 R\n", b"  1f000 W\n", b"1f000 R\r\n", b"1f000  R\n", b"1f000 R", b"1f000 X\n", b"\n"):
        assert _pitt_fast(odd, 12) is None
    f = tmp_path / "t.pitt"
    f.write_bytes(b"1f000 R\n0x2000 w\n  3000 W\n")
    chunk = next(iter(open_trace(f, "pitt")()))
    assert chunk.pages.tolist() == [0x1F, 2, 3] and chunk.writes.tolist() == [0, 1, 1]
