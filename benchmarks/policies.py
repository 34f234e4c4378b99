"""References per second of every registered policy on the 1M-reference Zipf trace (issue 7).

The trace is the one benchmarks/run.py uses (1,000,000 references, Zipf(1.0) over 100,000 pages,
seeded, page ids shuffled) with 1,000 frames, generated in memory. Each policy is timed in this
process, after imports, as the wall time of ``replay`` over the whole trace held in one chunk; the
table shows the median of ``--repeat`` runs (default 3) and the fault count. The peer in the same
run is a plain-Python OrderedDict LRU loop over the same page list (the core of plain_lru.py,
without parsing): the last column is each policy's time over the peer's.

    PYTHONPATH=$PWD python benchmarks/policies.py            # every registered policy
    PYTHONPATH=$PWD python benchmarks/policies.py -p arc,2q  # a few
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import OrderedDict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import ZIPF_ALPHA, ZIPF_FRAMES, ZIPF_PAGES, ZIPF_REFS, ZIPF_SEED, zipf_pages

from vmsim.engine import replay
from vmsim.hw.access import Chunk
from vmsim.policies import available, parse_policy


def measure(name: str, chunk: Chunk, frames: int, repeat: int) -> tuple[float, int]:
    """Median wall seconds of ``repeat`` replays, and the (identical) fault count."""
    spec = parse_policy(name)
    times: list[float] = []
    faults: set[int] = set()
    for _ in range(repeat):
        t0 = time.perf_counter()
        faults.add(replay(lambda: [chunk], spec, frames).faults)
        times.append(time.perf_counter() - t0)
    assert len(faults) == 1, f"{name}: fault counts differ between runs: {faults}"
    return statistics.median(times), faults.pop()


def plain_lru(pages: list[int], frames: int) -> int:
    """The peer: LRU misses with an OrderedDict, as a person writes it."""
    cache: OrderedDict[int, None] = OrderedDict()
    misses = 0
    for page in pages:
        if page in cache:
            cache.move_to_end(page)
        else:
            misses += 1
            cache[page] = None
            if len(cache) > frames:
                cache.popitem(last=False)
    return misses


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-p", "--policies", default="", help="comma-separated names (default: every registered policy)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    names = [n for n in args.policies.split(",") if n] or available()
    pages = zipf_pages(ZIPF_REFS, ZIPF_PAGES, ZIPF_ALPHA, ZIPF_SEED)
    chunk = Chunk(pages)
    print(
        f"Zipf({ZIPF_ALPHA}) trace: {ZIPF_REFS:,} references over {ZIPF_PAGES:,} pages, {ZIPF_FRAMES} frames; "
        f"median of {args.repeat}, in-process after imports\n"
    )
    plain = pages.tolist()
    peer: list[float] = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        peer_faults = plain_lru(plain, ZIPF_FRAMES)
        peer.append(time.perf_counter() - t0)
    base = statistics.median(peer)
    print("| policy | median s | M refs/s | faults | time / plain LRU loop |")
    print("|---|---:|---:|---:|---:|")
    print(f"| (peer: plain-Python LRU loop) | {base:.2f} | {ZIPF_REFS / base / 1e6:.2f} | {peer_faults:,} | 1.00x |")
    for name in names:
        seconds, faults = measure(name, chunk, ZIPF_FRAMES, args.repeat)
        print(f"| {name} | {seconds:.2f} | {ZIPF_REFS / seconds / 1e6:.2f} | {faults:,} | {seconds / base:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
