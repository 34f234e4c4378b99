"""libCacheSim miss counter, run as a child process by run.py so its whole-process time is measured.

Usage:
    python lcs_run.py get   POLICY FRAMES STEM   one ``cache.get`` per reference from Python
    python lcs_run.py trace POLICY FRAMES STEM [HASHPOWER]   ``process_trace`` over an oracleGeneral
                                                             file (in C)

STEM names files written by run.py's untimed setup: ``STEM.npy`` (page numbers, int64),
``STEM.next.npy`` (index of each reference's next use, -1 if none; Belady's future) and
``STEM.oracleGeneral.bin``. POLICY is lru, fifo, clock (textbook: referenced bit set on load,
``init_freq=1``) or opt (``Belady``). Prints the miss count.
"""

from __future__ import annotations

import os
import sys

import libcachesim as lcs
import numpy as np

HASHPOWER = 17  # 2^17 slots: enough for 100k pages; the default (24) is slow to create
SLICE = 1 << 20
NEVER = np.iinfo(np.int64).max  # libCacheSim's "never requested again"


def make_cache(policy: str, frames: int, hashpower: int = HASHPOWER) -> lcs.CacheBase:
    """A libCacheSim cache of ``frames`` objects of size 1."""
    if policy == "lru":
        return lcs.LRU(cache_size=frames, hashpower=hashpower)
    if policy == "fifo":
        return lcs.FIFO(cache_size=frames, hashpower=hashpower)
    if policy == "clock":
        return lcs.Clock(cache_size=frames, hashpower=hashpower, init_freq=1)
    if policy == "opt":
        return lcs.Belady(cache_size=frames, hashpower=hashpower)
    raise SystemExit(f"unknown policy {policy!r}")


def run_get(cache: lcs.CacheBase, stem: str, policy: str) -> int:
    """The per-request loop: a Python call into C for every reference (a slice of the arrays at a
    time, so memory stays bounded like a streaming reader's)."""
    pages = np.load(stem + ".npy", mmap_mode="r")
    nxt = np.load(stem + ".next.npy", mmap_mode="r") if policy == "opt" else None
    req = lcs.Request()
    req.obj_size = 1
    misses = 0
    for i in range(0, len(pages), SLICE):
        chunk = pages[i : i + SLICE].tolist()
        if nxt is None:
            for page in chunk:
                req.obj_id = page
                misses += not cache.get(req)
        else:
            future = np.where(nxt[i : i + SLICE] < 0, NEVER, nxt[i : i + SLICE]).tolist()
            for page, n in zip(chunk, future):
                req.obj_id = page
                req.next_access_vtime = n
                misses += not cache.get(req)
    return misses


def run_trace(cache: lcs.CacheBase, stem: str) -> int:
    """The whole trace inside C."""
    path = stem + ".oracleGeneral.bin"
    n = os.path.getsize(path) // 24
    reader = lcs.TraceReader(path, lcs.TraceType.ORACLE_GENERAL_TRACE)
    miss_ratio, _ = cache.process_trace(reader)
    return round(miss_ratio * n)


def main() -> None:
    mode, policy, frames, stem = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    cache = make_cache(policy, frames, int(sys.argv[5]) if len(sys.argv) > 5 else HASHPOWER)
    print(run_get(cache, stem, policy) if mode == "get" else run_trace(cache, stem))


if __name__ == "__main__":
    main()
