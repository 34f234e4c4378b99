"""libCacheSim's oracleGeneral and txt traces, vmsim's binary format, and ``vmsim convert``."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from vmsim.cli import main
from vmsim.engine import replay
from vmsim.errors import VmsimError
from vmsim.policies import parse_policy
from vmsim.workloads import detect_format, open_trace
from vmsim.workloads.binary import ORACLE


def oracle_file(path: Path, objs: np.ndarray, compress: bool = False) -> Path:
    recs = np.zeros(len(objs), ORACLE)
    recs["obj"] = objs
    recs["time"] = np.arange(len(objs))
    recs["size"] = 4096
    recs["next"] = -1
    data = recs.tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def test_oracle_general_is_detected_and_read_as_object_pages(tmp_path: Path) -> None:
    objs = np.array([5, 7, 5, 1 << 40, 7, 2**64 - 1], np.uint64)
    for compress in (False, True):
        f = oracle_file(tmp_path / f"t{int(compress)}.oracleGeneral.bin", objs, compress)
        assert detect_format(f) == "oracleGeneral"
        pages = np.concatenate([c.pages for c in open_trace(f)()])
        assert pages.tolist() == [5, 7, 5, 1 << 40, 7, 2**63 - 1]  # ids as pages, the top bit dropped
        assert open_trace(f, limit=4)().__next__().pages.tolist() == [5, 7, 5, 1 << 40]


def test_oracle_general_counts_equal_the_same_pages_as_text(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    objs = (rng.zipf(1.2, 70_000) % 5_000).astype(np.uint64)
    binf = oracle_file(tmp_path / "z.oracleGeneral.bin", objs)
    txt = tmp_path / "z.txt"
    txt.write_text("\n".join(map(str, objs.tolist())) + "\n")
    for policy in ("lru", "fifo", "arc"):
        a = replay(open_trace(binf), parse_policy(policy), 300)
        b = replay(open_trace(txt, "txt"), parse_policy(policy), 300)
        assert (a.faults, a.references) == (b.faults, b.references) and a.faults > 300


def test_zstd_compressed_traces_are_read(tmp_path: Path) -> None:
    zstandard = pytest.importorskip("zstandard")
    objs = np.arange(1000, dtype=np.uint64) % 37
    plain = oracle_file(tmp_path / "a.oracleGeneral.bin", objs)
    z = tmp_path / "a.oracleGeneral.zst"
    z.write_bytes(zstandard.ZstdCompressor().compress(plain.read_bytes()))
    assert detect_format(z) == "oracleGeneral"
    assert np.concatenate([c.pages for c in open_trace(z)()]).tolist() == objs.tolist()


def test_a_truncated_record_is_an_error(tmp_path: Path) -> None:
    f = oracle_file(tmp_path / "t.oracleGeneral.bin", np.arange(10, dtype=np.uint64))
    f.write_bytes(f.read_bytes()[:-5])
    with pytest.raises(VmsimError, match="24 bytes"):
        list(open_trace(f, "oracleGeneral")())


def test_convert_round_trips_through_both_binary_formats(
    tmp_path: Path, traces: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = traces / "sort.lackey.gz"
    vm, og = tmp_path / "s.vmsim", tmp_path / "s.oracleGeneral.bin"
    assert main(["convert", str(src), str(vm), "--limit", "100000"]) == 0
    assert main(["convert", str(src), str(og), "--limit", "100000"]) == 0
    assert "writes become reads" in capsys.readouterr().err
    assert main(["convert", str(src), str(vm), "--limit", "10"]) == 2  # no overwrite without --force
    assert "--force" in capsys.readouterr().err
    assert detect_format(vm) == "vmsim" and detect_format(og) == "oracleGeneral"
    spec = parse_policy("lru")
    text = replay(open_trace(src, limit=100_000), spec, 32)
    fast = replay(open_trace(vm), spec, 32)
    assert fast == text  # write flags kept: the same write-backs
    og_run = replay(open_trace(og), spec, 32)
    assert og_run.faults == text.faults and og_run.writebacks == 0
    recs = np.fromfile(og, ORACLE)
    nxt = recs["next"]  # next access filled in: the index of the same object's next request
    i = int(np.flatnonzero(nxt >= 0)[0])
    assert recs["obj"][nxt[i]] == recs["obj"][i] and (recs["obj"][i + 1 : nxt[i]] != recs["obj"][i]).all()


def test_a_vmsim_file_with_a_bad_header_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "x.vmsim"
    f.write_bytes(b"VMSIMTR\x02" + bytes(8))
    with pytest.raises(VmsimError, match="not a vmsim binary trace"):
        open_trace(f, "vmsim")


def test_libcachesim_csv_traces(tmp_path: Path) -> None:
    """Columns as libCacheSim names them; string ids hashed the same way every time; op-col writes."""
    f = tmp_path / "t.csv"
    f.write_text("time,key,size,op\n1,alpha,10,get\n2,beta,10,set\n3,alpha,10,get\n4,7,5,get\n")
    a = next(iter(open_trace(f, csv="op-col=4")()))
    assert a.pages[0] == a.pages[2] != a.pages[1] and a.pages[3] == 7 and a.writes.tolist() == [0, 1, 0, 0]
    assert np.array_equal(next(iter(open_trace(f, "csv")())).pages, a.pages)  # the header names the id column
    run = replay(open_trace(f, csv="op-col=4"), parse_policy("lru"), 1)
    assert (run.faults, run.writebacks) == (4, 1)
    t = tmp_path / "t.tsv"
    t.write_text("1\t5\n2\t6\n3\t5\n")
    assert next(iter(open_trace(t, csv="obj-id-col=2,has-header=false,delimiter=\t")())).pages.tolist() == [5, 6, 5]
    with pytest.raises(VmsimError, match="no object id in column 9"):
        list(open_trace(f, csv="obj-id-col=9")())
    with pytest.raises(VmsimError, match="unknown key 'bogus'"):
        open_trace(f, csv="bogus=1")
    n = tmp_path / "n.csv"
    n.write_text("a,b\n1,2\n")
    with pytest.raises(VmsimError, match="no object-id column"):
        list(open_trace(n, "csv")())


def test_object_pages_expand_a_request_to_its_pages(tmp_path: Path) -> None:
    recs = np.zeros(3, ORACLE)
    recs["obj"] = [10, 11, 10]
    recs["size"] = [3 * 4096, 100, 4097]
    f = tmp_path / "o.oracleGeneral.bin"
    f.write_bytes(recs.tobytes())
    plain = np.concatenate([c.pages for c in open_trace(f)()])
    pages = np.concatenate([c.pages for c in open_trace(f, object_pages=True)()]).tolist()
    assert plain.tolist() == [10, 11, 10]
    assert len(pages) == 3 + 1 + 2 and pages[0] == 10 and pages[3] == 11 and pages[4:] == pages[:2]
    assert len(set(pages[:3])) == 3  # an object's pages are distinct
    with pytest.raises(VmsimError, match="applies to oracleGeneral"):
        open_trace(tmp_path / "o.oracleGeneral.bin", "pages", object_pages=True)


def _with_nexts(objs: np.ndarray, base: int = 0, none: int = -1) -> np.ndarray:
    """Each request's next request of the same object, numbered from ``base`` (``none``: no more)."""
    nxt = np.full(len(objs), none, np.int64)
    last: dict[int, int] = {}
    for i in range(len(objs) - 1, -1, -1):
        o = int(objs[i])
        if o in last:
            nxt[i] = last[o] + base
        last[o] = i
    return nxt


def oracle_with_nexts(path: Path, objs: np.ndarray, nexts: np.ndarray) -> Path:
    recs = np.zeros(len(objs), ORACLE)
    recs["obj"], recs["time"], recs["size"], recs["next"] = objs, np.arange(len(objs)), 1, nexts
    path.write_bytes(recs.tobytes())
    return path


def _opt(path: Path, frames: int, jit: str, monkeypatch: pytest.MonkeyPatch, limit: int | None = None) -> tuple[int, ...]:
    monkeypatch.setenv("VMSIM_JIT", jit)
    r = replay(open_trace(path, "oracleGeneral", limit=limit), parse_policy("opt"), frames)
    return (r.references, r.faults, r.cold_faults, r.evictions)


@pytest.mark.parametrize(("base", "none"), [(0, -1), (1, -1), (0, (1 << 63) - 1)])
def test_opt_takes_the_trace_next_access_without_a_second_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, base: int, none: int
) -> None:
    rng = np.random.default_rng(base + 7)
    objs = (rng.zipf(1.2, 150_000) % 5_000).astype(np.uint64)
    f = oracle_with_nexts(tmp_path / "n.oracleGeneral.bin", objs, _with_nexts(objs, base, none))
    first = next(iter(open_trace(f, "oracleGeneral")()))
    assert first.nexts is not None and first.nexts.positions(first.pages)[0] == _with_nexts(objs)[0]
    import vmsim.vm.jit.driver as driver

    def no_second_pass(*_: object) -> None:
        raise AssertionError("the next accesses were computed again")

    python = _opt(f, 300, "0", monkeypatch)
    monkeypatch.setattr(driver, "next_uses", no_second_pass)
    assert _opt(f, 300, "always", monkeypatch) == python
    assert _opt(f, 300, "always", monkeypatch, limit=90_000) == _opt(f, 300, "0", monkeypatch, limit=90_000)


def test_a_next_access_field_that_says_nothing_is_computed_instead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    objs = (np.arange(100_000) % 700).astype(np.uint64)
    f = oracle_file(tmp_path / "blank.oracleGeneral.bin", objs)  # next = -1 everywhere
    assert next(iter(open_trace(f, "oracleGeneral")())).nexts is None
    assert _opt(f, 500, "always", monkeypatch) == _opt(f, 500, "0", monkeypatch)


def test_a_next_access_field_that_goes_wrong_later_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    objs = (np.arange(200_000) % 900).astype(np.uint64)
    nexts = _with_nexts(objs)
    nexts[150_000] = 150_001  # not the same object
    f = oracle_with_nexts(tmp_path / "bad.oracleGeneral.bin", objs, nexts)
    monkeypatch.setenv("VMSIM_JIT", "always")
    with pytest.raises(VmsimError, match=r"next-access field of requests 131,072-196,607 does not match"):
        replay(open_trace(f, "oracleGeneral"), parse_policy("opt"), 100)
