"""Synthetic workloads: uniform, Zipf, loop and sequential reference streams, lazily in chunks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from vmsim.hw.access import CHUNK, Chunk
from vmsim.spec import Model

#: Accesses per page in a sequential scan (a 4 KiB page of 8-byte words touched 8 times apart).
SEQUENTIAL_RUN = 64


class _Synthetic(Model):
    """What every synthetic kind has. Each kind declares ``kind`` and ``pages`` itself, alike on
    purpose: ``pages`` means something different in each (its description says what)."""

    references: int = Field(100_000, ge=1, description="accesses this process makes")
    write_fraction: float = Field(0.0, ge=0, le=1, description="fraction of accesses that are writes")


#: The ``pages`` of the kinds that spread their accesses over one data segment.
_Pages = Annotated[int, Field(ge=1, description="pages the process touches (its data segment)")]


class Uniform(_Synthetic):
    """Synthetic: every page of ``pages`` equally likely at each access."""

    kind: Literal["uniform"] = Field(description="uniform random accesses")
    pages: _Pages


class Zipf(_Synthetic):
    """Synthetic: page popularity ~ 1/rank**alpha, the ranks shuffled over the pages."""

    kind: Literal["zipf"] = Field(description="Zipf-distributed accesses")
    pages: _Pages
    alpha: float = Field(1.0, gt=0, description="skew: larger is more concentrated on the popular pages")


class Loop(_Synthetic):
    """Synthetic: pages 0, 1, ..., pages-1, then again from 0."""

    kind: Literal["loop"] = Field(description="a cyclic loop over the pages")
    pages: int = Field(ge=1, description="pages in the loop")


class Sequential(_Synthetic):
    """Synthetic: a scan that touches each page 64 times in a row before the next, wrapping at the end."""

    kind: Literal["sequential"] = Field(description="a sequential scan")
    pages: int = Field(ge=1, description="pages in the scan")


class Phases(_Synthetic):
    """Uniform over a window of ``pages`` pages that moves by ``shift`` pages every ``phase_length``
    accesses: a locality that drifts."""

    kind: Literal["phases"] = Field(description="a drifting locality window")
    pages: int = Field(ge=1, description="window (working-set) size in pages")
    phase_length: int = Field(10_000, ge=1, description="accesses per phase, before the window moves")
    shift: int = Field(0, ge=0, description="pages the window moves per phase (default: its size)")


SyntheticSpec = Uniform | Zipf | Loop | Sequential | Phases


@dataclass(frozen=True)
class SyntheticWorkload:
    """One process's stream of accesses over pages 0..pages-1 of one data segment, as its spec
    says (``Sequential`` touches each page SEQUENTIAL_RUN times in a row; ``Phases`` is the
    drifting locality of Denning's working-set model)."""

    spec: SyntheticSpec
    seed: int

    @property
    def footprint(self) -> int:
        """Distinct pages the stream can touch (the process's virtual size in pages)."""
        spec = self.spec
        if not isinstance(spec, Phases):
            return spec.pages
        phases = -(-spec.references // spec.phase_length) + 1
        return spec.pages + (spec.shift or spec.pages) * (phases - 1)

    def chunks(self, size: int = CHUNK) -> Iterator[Chunk]:
        """The whole stream, ``size`` accesses at a time; the same seed gives the same stream."""
        spec = self.spec
        gen = np.random.default_rng(self.seed)
        total = spec.references
        cdf = None
        perm = None
        if isinstance(spec, Zipf):
            weights = 1.0 / np.arange(1, spec.pages + 1, dtype=np.float64) ** spec.alpha
            cdf = np.cumsum(weights)
            cdf /= cdf[-1]
            perm = gen.permutation(spec.pages)  # popularity is not ordered by page number
        # Each process enters its first phase part-way, so phase changes are not in lockstep.
        phases = spec if isinstance(spec, Phases) else None
        offset = int(gen.integers(0, phases.phase_length)) if phases else 0
        done = 0
        while done < total:
            n = min(size, total - done)
            idx = np.arange(done, done + n, dtype=np.int64)
            if spec.kind == "uniform":
                pages = gen.integers(0, spec.pages, n, dtype=np.int64)
            elif spec.kind == "zipf":
                assert cdf is not None and perm is not None
                ranks = np.minimum(np.searchsorted(cdf, gen.random(n), side="right"), spec.pages - 1)
                pages = perm[ranks].astype(np.int64)
            elif phases is not None:
                base = ((idx + offset) // phases.phase_length) * (phases.shift or phases.pages)
                pages = base + gen.integers(0, spec.pages, n, dtype=np.int64)
            elif spec.kind == "loop":
                pages = idx % spec.pages
            else:
                pages = (idx // SEQUENTIAL_RUN) % spec.pages
            writes = None
            if spec.write_fraction > 0:
                writes = (gen.random(n) < spec.write_fraction).astype(np.uint8)
            yield Chunk(pages, writes)
            done += n
