"""Chunks of memory accesses: how workloads and trace readers hand references to the engine."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

#: References per chunk a workload generator yields (the unit of the run loops and of progress).
CHUNK = 1 << 16


class Chunk(NamedTuple):
    """A run of accesses in order: virtual page numbers, write flags, and owning processes.

    ``writes`` None means every access reads; ``pids`` None means every access is process 0.
    """

    pages: np.ndarray
    writes: np.ndarray | None = None
    pids: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.pages)
