"""``embedding_lookup``: DLRM-style embedding-table lookups with power-law row popularity, lazily.

Each table is a segment of the process's data: its rows are packed ``rows_per_page`` to a page
(a row never straddles a page boundary; a row bigger than a page starts on a page boundary and
spans ``pages_per_row`` pages). Row popularity is a bounded Zipf over each table's rows: rank k
(1-based) has probability proportional to 1/k**alpha. ``row_layout`` says where the rank-k row is
stored: ``sorted_by_popularity`` puts it in slot k-1 (the hottest rows packed together on the
first pages); ``hashed`` puts it in slot perm(k-1) for a seeded pseudo-random permutation of the
slots, so hot rows are scattered over the pages, as a hashed categorical feature is.

Per batch, each table in turn is looked up ``batch_size * hotness`` times (sample after sample,
as an embedding bag gathers its indices), every lookup an independent draw. With ``training``,
after all the batch's lookups each table writes back the pages of the rows it touched, in page
order (a sparse optimizer update over the coalesced, sorted row indices).

Memory stays bounded without a per-row table: ranks are drawn by rejection-inversion
(Hoermann and Derflinger, 1996), which needs no CDF table, and the hashed layout uses a keyed
Feistel permutation with cycle walking, which needs no permutation array. The only per-page state
is, with ``training``, one byte per page marking the pages touched in the current batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from vmsim.hw.access import CHUNK, Chunk, rechunk
from vmsim.kernel.config import SegmentPages
from vmsim.limits import MAX_BYTES, describe
from vmsim.spec import Model


class BoundedZipf:
    """Ranks 1..n with P(k) proportional to k**-alpha (alpha > 0), drawn exactly by
    rejection-inversion without a table (the algorithm of Apache Commons RNG's
    RejectionInversionZipfSampler, vectorised)."""

    def __init__(self, n: int, alpha: float) -> None:
        self.n = n
        self.alpha = alpha
        self._h_x1 = float(self._big_h(np.array(1.5))) - 1.0
        self._h_n = float(self._big_h(np.array(n + 0.5)))
        self._s = 2.0 - float(self._big_h_inv(self._big_h(np.array(2.5)) - 2.0**-alpha))

    def _big_h(self, x: np.ndarray) -> np.ndarray:
        """(x**(1-alpha) - 1) / (1-alpha), log x at alpha = 1, stable near alpha = 1."""
        lx = np.log(x)
        return _expm1_over(np.asarray((1.0 - self.alpha) * lx)) * lx

    def _big_h_inv(self, y: np.ndarray) -> np.ndarray:
        t = np.maximum(np.asarray(y * (1.0 - self.alpha)), -1.0)
        return np.exp(_log1p_over(t) * y)

    def sample(self, gen: np.random.Generator, m: int) -> np.ndarray:
        """``m`` independent ranks (int64, 1..n). The draws depend on how the requests are cut;
        use ZipfStream for a stream that does not."""
        out = np.empty(m, np.int64)
        filled = 0
        while filled < m:
            got = self.candidates(gen, m - filled + (m - filled) // 8 + 8)[: m - filled]
            out[filled : filled + len(got)] = got
            filled += len(got)
        return out

    def candidates(self, gen: np.random.Generator, tries: int) -> np.ndarray:
        """The accepted ranks among ``tries`` candidates, in order."""
        u = self._h_n + gen.random(tries) * (self._h_x1 - self._h_n)
        x = self._big_h_inv(u)
        k = np.clip(np.floor(x + 0.5), 1, self.n)
        ok = (k - x <= self._s) | (u >= self._big_h(k + 0.5) - k**-self.alpha)
        return k[ok].astype(np.int64)

    def pmf(self) -> np.ndarray:
        """The exact probabilities of ranks 1..n (a table of n floats: for tests on small n)."""
        w = np.arange(1, self.n + 1, dtype=np.float64) ** -self.alpha
        return w / w.sum()


class ZipfStream:
    """An endless sequence of BoundedZipf ranks from its own generator, served in any cuts: the
    sequence depends on the generator only, never on how many ranks each call takes."""

    BLOCK = 4096

    def __init__(self, zipf: BoundedZipf, gen: np.random.Generator) -> None:
        self.zipf = zipf
        self.gen = gen
        self._buf = np.empty(0, np.int64)

    def take(self, m: int) -> np.ndarray:
        """The next ``m`` ranks."""
        parts = [self._buf]
        have = len(self._buf)
        while have < m:
            got = self.zipf.candidates(self.gen, self.BLOCK)
            parts.append(got)
            have += len(got)
        allr = np.concatenate(parts) if len(parts) > 1 else self._buf
        self._buf = allr[m:]
        return allr[:m]


def _expm1_over(t: np.ndarray) -> np.ndarray:
    """expm1(t)/t, 1 at t = 0."""
    small = np.abs(t) < 1e-8
    safe = np.where(small, 1.0, t)
    return np.where(small, 1.0 + t / 2.0 * (1.0 + t / 3.0), np.expm1(safe) / safe)


def _log1p_over(t: np.ndarray) -> np.ndarray:
    """log1p(t)/t, 1 at t = 0."""
    small = np.abs(t) < 1e-8
    safe = np.where(small, 1.0, t)
    with np.errstate(divide="ignore"):
        return np.where(small, 1.0 - t / 2.0 + t * t / 3.0, np.log1p(safe) / safe)


_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


class KeyedPermutation:
    """A seeded bijection of 0..n-1 computed per element: a balanced Feistel network over the
    smallest even number of bits covering n, with cycle walking back into range."""

    ROUNDS = 6

    def __init__(self, n: int, gen: np.random.Generator) -> None:
        self.n = n
        bits = max(2, (n - 1).bit_length())
        bits += bits % 2
        self._half = np.uint64(bits // 2)
        self._mask = np.uint64((1 << (bits // 2)) - 1)
        self._keys = gen.integers(0, np.iinfo(np.int64).max, self.ROUNDS, dtype=np.int64).astype(np.uint64)

    def _once(self, x: np.ndarray) -> np.ndarray:
        left, right = x >> self._half, x & self._mask
        for k in self._keys:
            z = right ^ k  # splitmix64's finaliser as the round function
            z = (z ^ (z >> np.uint64(30))) * _M1
            z = (z ^ (z >> np.uint64(27))) * _M2
            z ^= z >> np.uint64(31)
            left, right = right, left ^ (z & self._mask)
        return (left << self._half) | right

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """The images of ``x`` (int64 values in 0..n-1), as int64."""
        y = self._once(x.astype(np.uint64))
        out = y >= np.uint64(self.n)
        while out.any():
            y[out] = self._once(y[out])
            out = y >= np.uint64(self.n)
        return y.astype(np.int64)


class EmbeddingTableSpec(Model):
    """One embedding table: ``rows`` rows of ``dim`` elements, one segment of the process."""

    rows: int = Field(ge=1, description="rows in the table")
    dim: int = Field(ge=1, description="elements per row")
    dtype_bytes: int = Field(4, ge=1, description="bytes per element")
    hotness: int = Field(1, ge=1, description="lookups per sample in this table")
    name: str = Field("", description="name of the table's segment; default: table<i>")

    @property
    def row_bytes(self) -> int:
        """Bytes of one row."""
        return self.dim * self.dtype_bytes

    @model_validator(mode="after")
    def _size(self) -> EmbeddingTableSpec:
        size = self.rows * self.dim * self.dtype_bytes
        if size > MAX_BYTES:
            raise ValueError(f"the table is {size:,} bytes (rows x dim x dtype_bytes), more than {describe(MAX_BYTES)}")
        return self


class EmbeddingLookupSpec(Model):
    """DLRM-style embedding lookups: Zipf rows, hashed or popularity-sorted layout."""

    kind: Literal["embedding_lookup"] = Field(description="DLRM-style embedding lookups")
    tables: list[EmbeddingTableSpec] = Field(min_length=1, description="the embedding tables, looked up in turn")
    alpha: float = Field(1.05, gt=0, description="Zipf skew of row popularity: P(rank k) ~ 1/k**alpha")
    row_layout: Literal["hashed", "sorted_by_popularity"] = Field(
        "hashed",
        description="hashed: popular rows scattered over the pages; sorted_by_popularity: hottest rows on the first pages",
    )
    batch_size: int = Field(2048, ge=1, description="samples per batch (each looks up every table hotness times)")
    batches: int = Field(1, ge=1, description="batches the process runs")
    training: bool = Field(False, description="after each batch, write back the pages of the rows it touched")

    @property
    def names(self) -> tuple[str, ...]:
        """Each table's segment name: its ``name``, or ``table<i>``."""
        return tuple(t.name or f"table{i}" for i, t in enumerate(self.tables))

    @model_validator(mode="after")
    def _distinct_names(self) -> EmbeddingLookupSpec:
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"table names must differ, got {list(self.names)}")
        return self


@dataclass(frozen=True)
class _Geometry:
    """Where a table's rows live: first page, rows per page, pages per row, pages."""

    first: int
    rows_per_page: int
    pages_per_row: int
    pages: int


@dataclass(frozen=True)
class EmbeddingLookup:
    """The reference stream of embedding lookups over the spec's tables (see the module doc).
    Pages 0..footprint-1 are the tables' pages, table after table (``segments``)."""

    spec: EmbeddingLookupSpec
    seed: int
    page_size: int = 4096

    @cached_property
    def _geometry(self) -> tuple[_Geometry, ...]:
        geometry = []
        first = 0
        for t in self.spec.tables:
            rpp = max(1, self.page_size // t.row_bytes)
            ppr = -(-t.row_bytes // self.page_size)
            pages = -(-t.rows // rpp) * ppr
            geometry.append(_Geometry(first, rpp, ppr, pages))
            first += pages
        return tuple(geometry)

    @property
    def footprint(self) -> int:
        """Distinct pages the stream can touch: all pages of all tables."""
        return sum(g.pages for g in self._geometry)

    @property
    def segments(self) -> tuple[SegmentPages, ...]:
        """(name, first_page, n_pages, file_backed) per table, in page order (anonymous memory)."""
        return tuple((name, g.first, g.pages, False) for name, g in zip(self.spec.names, self._geometry))

    def chunks(self, size: int = CHUNK) -> Iterator[Chunk]:
        """The whole stream, ``size`` accesses at a time; the same seed gives the same stream."""
        return rechunk(self._pieces(max(1, size)), size)

    def _pieces(self, size: int) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        # One generator per table for its lookups, so that neither the chunk size nor the other
        # tables change a table's draws; one more for the hashed layouts' keys.
        spec = self.spec
        seeds = np.random.SeedSequence(self.seed).spawn(len(spec.tables) + 1)
        keys = np.random.default_rng(seeds[-1])
        zipfs = [ZipfStream(BoundedZipf(t.rows, spec.alpha), np.random.default_rng(s)) for t, s in zip(spec.tables, seeds)]
        perms = [KeyedPermutation(t.rows, keys) if spec.row_layout == "hashed" else None for t in spec.tables]
        touched = np.zeros(self.footprint, np.bool_) if spec.training else None
        for _ in range(spec.batches):
            for t, g, zipf, perm in zip(spec.tables, self._geometry, zipfs, perms):
                left = spec.batch_size * t.hotness
                step = max(1, size // g.pages_per_row)
                while left:
                    n = min(step, left)
                    left -= n
                    slots = zipf.take(n) - 1
                    if perm is not None:
                        slots = perm(slots)
                    if g.pages_per_row == 1:
                        pages = g.first + slots // g.rows_per_page
                    else:
                        pages = (g.first + slots[:, None] * g.pages_per_row + np.arange(g.pages_per_row)).ravel()
                    if touched is not None:
                        touched[pages] = True
                        yield pages, np.zeros(len(pages), np.uint8)
                    else:
                        yield pages, None
            if touched is not None:
                for lo in range(0, len(touched), size):
                    part = touched[lo : lo + size]
                    dirty = np.flatnonzero(part)
                    if len(dirty):
                        yield dirty.astype(np.int64) + lo, np.ones(len(dirty), np.uint8)
                        part[:] = False
