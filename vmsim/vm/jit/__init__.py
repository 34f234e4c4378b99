"""Compiled run loops for the built-in baseline policies (numba), beside the pure-Python loops.

The Python policies and loops (:mod:`vmsim.vm.loops`) are the reference; a compiled loop is a
second implementation of one built-in policy's decisions that must give the same counters (faults,
cold faults, evictions, write-backs, per process), which ``tests/test_jit.py`` checks. What runs
compiled: ``replay`` and ``curve`` of the policies in :data:`KERNELS` (FIFO, LRU, Clock, SIEVE,
OPT, S3-FIFO, ARC; one module each in this package) with any number of processes, under global
scope, and under local scope for the modules that set ``LOCAL`` (all of them); not ``--explain``. Everything
else, and every plug-in policy, runs in Python, unchanged.

Pages are mapped once to dense ids, per (process, page), by a compiled open-addressing table
(:mod:`vmsim.vm.jit.ids`), so a compiled loop indexes arrays and never a Python dict.

Loading numba costs about half a second of every process that uses it (its import and its
LLVM set-up, measured on this project's 2-core machines), more than the Python loops take for a
short stream, so by default a stream runs compiled only from :data:`MIN_ACCESSES` accesses on.
``VMSIM_JIT=0`` forces the Python loops, ``VMSIM_JIT=always`` the compiled ones whatever the
length. Where numba cannot be imported the Python loops run, with one notice on stderr. numba
caches the compiled code on disk (``cache=True``), so only the first run on a machine compiles.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from vmsim.policies import PolicySpec

if TYPE_CHECKING:
    from vmsim.hw.access import Chunk

#: Policy name -> the module of its compiled loop. Each module defines ``make(frames, params)``
#: returning a :class:`vmsim.vm.jit.driver.Kernel`, and ``POLICY``, the class it reproduces.
KERNELS: dict[str, str] = {
    "fifo": "vmsim.vm.jit.fifo",
    "lru": "vmsim.vm.jit.lru",
    "clock": "vmsim.vm.jit.clock",
    "sieve": "vmsim.vm.jit.sieve",
    "opt": "vmsim.vm.jit.opt",
    "s3fifo": "vmsim.vm.jit.s3fifo",
    "arc": "vmsim.vm.jit.arc",
}

#: Streams at least this long run compiled (by default): about where the compiled loops' start-up
#: is repaid (docs/performance.md). FIFO and LRU have fused Python loops (vm/loops.py) that repay
#: it later than the other policies' general loop does.
MIN_ACCESSES = 1 << 19
MIN_ACCESSES_FUSED = 1 << 21


def peek(chunks: Iterator[Chunk], least: int) -> list[Chunk] | None:
    """The chunks read from ``chunks`` until ``least`` accesses (to be replayed first), or None if
    the stream ends before: too short to repay loading numba. ``VMSIM_JIT=always`` reads none."""
    head: list[Chunk] = []
    if mode() == "always":
        return head
    held = 0
    for c in chunks:
        head.append(c)
        held += len(c)
        if held >= least:
            return head
    return None


def min_accesses(spec: PolicySpec) -> int:
    """The stream length from which ``spec`` runs compiled by default."""
    return MIN_ACCESSES_FUSED if spec.cls.name in ("fifo", "lru") else MIN_ACCESSES


_state: dict[str, Any] = {}


def mode() -> str:
    """``off`` (``VMSIM_JIT=0``), ``always`` (``VMSIM_JIT=always``) or ``auto`` (the default)."""
    value = os.environ.get("VMSIM_JIT", "auto").strip().lower()
    if value in ("0", "false", "no", "off"):
        return "off"
    return "always" if value == "always" else "auto"


def enabled() -> bool:
    """Whether compiled loops may run: not turned off by ``VMSIM_JIT=0`` and numba importable
    (if it is not, say so once)."""
    if mode() == "off":
        return False
    loading = _state.get("thread")
    if loading is not None and loading is not threading.current_thread():
        loading.join()  # preload() is doing it
    if "numba" not in _state:
        try:
            _load()
            _state["numba"] = True
        except Exception as e:  # ImportError, or a numba that fails to load its LLVM
            _state["numba"] = False
            print(f"vmsim: numba is not available ({type(e).__name__}); running the pure-Python loops", file=sys.stderr)
    return bool(_state["numba"])


def ready() -> bool:
    """Whether numba is loaded and set up already (nothing is loaded by asking)."""
    return _state.get("numba") is True and mode() != "off"


def preload() -> threading.Thread | None:
    """Load and set numba up in a background thread (its LLVM set-up releases the GIL, so it
    overlaps the first blocks' reading and parsing); join the thread before relying on it."""
    if mode() == "off" or "numba" in _state or _state.get("thread") is not None:
        return None
    thread = threading.Thread(target=enabled, name="vmsim-numba", daemon=True)
    _state["thread"] = thread
    thread.start()
    return thread


def _load() -> None:
    """Import numba and do its one-time set-up (at its first compiled call), with SciPy's linalg
    hidden if it is not imported yet: numba's CPU target imports scipy.linalg for BLAS, which none
    of these loops use, and that import alone took about 0.3 s of each run here. numba's own import
    already imports the top-level scipy package (cheap), so it is scipy.linalg that is hidden, from
    before that import on. scipy.linalg imports normally afterwards."""
    hide = "scipy.linalg" not in sys.modules
    if hide:
        sys.modules["scipy.linalg"] = None  # type: ignore[assignment]
    try:
        import numba  # noqa: F401

        from vmsim.vm.jit.ids import warm

        warm()
    finally:
        if hide and sys.modules.get("scipy.linalg", 0) is None:
            del sys.modules["scipy.linalg"]


def kernel_module(spec: PolicySpec) -> Any | None:
    """The compiled loop's module for exactly this built-in policy class (not a subclass or a
    plug-in of the same name), or None."""
    name = KERNELS.get(spec.cls.name)
    if name is None:
        return None
    module = importlib.import_module(name)
    return module if module.POLICY is spec.cls else None
