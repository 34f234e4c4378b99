"""Heap allocators that place objects inside one segment, so AI workloads can turn objects into pages.

A workload asks a heap for ``alloc(nbytes)`` and gets a byte address in ``[0, size)`` of its
segment; :func:`pages_of` then names the pages an object touches. Which address an object gets
depends on the placement policy, and that decides how the heap fragments and how many pages the
live data spreads over (ai-workloads.md section 6):

* ``first_fit``, ``next_fit``, ``best_fit``, ``worst_fit``: the classic free-list policies (Knuth's
  TAOCP vol. 1 section 2.5; Wilson et al., "Dynamic Storage Allocation: A Survey", 1995). A chosen
  free block is split: the object takes its low end, the rest stays free. Freed blocks coalesce
  with free neighbours unless ``coalesce=False``.
* ``buddy``: the binary buddy system (Knowlton, CACM 1965; Knuth's TAOCP vol. 1 section 2.5): a
  request takes a power-of-two block, split from the smallest free one that holds it, and a freed
  block merges with its free buddy, level by level. The vLLM paper's Orca baselines place their KV
  reservations with one (Kwon et al., SOSP 2023, section 6.1).
* ``caching``: a simplified model of PyTorch's CUDA caching allocator, see :class:`CachingHeap`.
  ``pytorch_caching`` (the name the scenario sketch uses) is accepted as an alias.

Build a heap with :func:`make_heap`. Every request is rounded up to a multiple of ``round`` bytes
(default 512, as PyTorch does), so every block address is a multiple of ``round`` too.
"""

from __future__ import annotations

import operator
from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass

from vmsim.errors import VmsimError

#: The placement policies :func:`make_heap` knows, in the order error messages list them.
POLICIES = ("first_fit", "next_fit", "best_fit", "worst_fit", "buddy", "caching")
#: Other names accepted for a policy.
ALIASES = {"pytorch_caching": "caching"}
#: Default rounding unit in bytes (PyTorch rounds every request up to 512 B).
DEFAULT_ROUND = 512


def next_pow2(n: int) -> int:
    """The least power of two at least ``n`` (1 for n <= 1)."""
    return 1 << max(0, (n - 1).bit_length())


def pages_of(addr: int, nbytes: int, page_size: int) -> range:
    """The page numbers the byte range ``[addr, addr + nbytes)`` touches (empty when nbytes is 0).

    This is how a workload turns a heap object into page references: an object of 100 bytes at
    address 4090 touches pages 0 and 1 of a 4 KiB-paged segment.
    """
    if page_size <= 0:
        raise VmsimError(f"page_size must be a positive number of bytes, got {page_size}")
    if addr < 0 or nbytes < 0:
        raise VmsimError(f"a byte range needs addr >= 0 and nbytes >= 0, got addr={addr}, nbytes={nbytes}")
    first = addr // page_size
    if nbytes == 0:
        return range(first, first)
    return range(first, (addr + nbytes - 1) // page_size + 1)


@dataclass(frozen=True)
class HeapStats:
    """A snapshot of one heap's accounting, in bytes unless named a count or a fraction.

    For the classic policies ``reserved_bytes == allocated_bytes`` and
    ``free_bytes + allocated_bytes == size``. For ``caching``, ``free_bytes`` is the segment's
    space not reserved by the allocator, so ``free_bytes + reserved_bytes == size``; the free-space
    fields (``largest_free``, ``free_block_count``, ``external_fragmentation``) describe that
    unreserved space too, and the cache shows up as ``cached_bytes``.
    """

    policy: str
    size: int
    #: Live objects.
    live_objects: int
    #: Sum of the sizes callers asked for, over live objects.
    live_bytes: int
    #: Sum of live objects' block sizes after rounding up to ``round``.
    allocated_bytes: int
    #: Bytes taken from the segment: allocated plus cached-but-free (caching policy only).
    reserved_bytes: int
    #: Bytes reserved but holding no live object: the cache (0 for the classic policies).
    cached_bytes: int
    #: Bytes of the segment free to place new blocks in (unreserved, for ``caching``).
    free_bytes: int
    #: The largest single free block.
    largest_free: int
    #: How many separate free blocks there are.
    free_block_count: int
    #: ``1 - largest_free / free_bytes``: 0 when all free space is one block, or nothing is free.
    external_fragmentation: float
    #: ``reserved_bytes - live_bytes``: what the workload costs beyond its data (RSS overhead).
    reserved_minus_live: int
    #: ``allocated_bytes - live_bytes``: bytes lost to rounding requests up.
    rounding_loss: int
    #: Reserved segments (the cudaMalloc calls still held); the classic heap counts as one segment.
    segment_count: int
    #: Calls to ``alloc`` so far, and how many of them returned None.
    alloc_calls: int
    failed_allocs: int


class FreeList:
    """Disjoint free blocks ``(start, size)``, indexed by address and by ``(size, start)``.

    Both indexes are sorted Python lists kept with :mod:`bisect`: adding or removing a block is a
    binary search plus a list insert/delete (O(n) moves, but memmove-fast); best and worst fit are
    O(log n) lookups; first and next fit scan in address order, O(n).
    """

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._size: dict[int, int] = {}
        self._by_size: list[tuple[int, int]] = []
        self.total = 0

    def __len__(self) -> int:
        return len(self._starts)

    def __contains__(self, start: int) -> bool:
        return start in self._size

    def size_at(self, start: int) -> int:
        """The size of the free block starting at ``start`` (KeyError if there is none)."""
        return self._size[start]

    def blocks(self) -> list[tuple[int, int]]:
        """Every free block as ``(start, size)``, in address order."""
        return [(s, self._size[s]) for s in self._starts]

    @property
    def largest(self) -> int:
        """The size of the largest free block, 0 when there is none."""
        return self._by_size[-1][0] if self._by_size else 0

    def add(self, start: int, size: int, *, coalesce: bool = True, lo: int = 0, hi: int | None = None) -> tuple[int, int]:
        """Make ``[start, start + size)`` free; returns the block it ends up in.

        With ``coalesce`` the block merges with a free block that ends at ``start`` or begins at
        ``start + size``, but only with neighbours inside ``[lo, hi)`` (the caching allocator
        must not merge across the segments it reserved separately).
        """
        if coalesce:
            i = bisect_left(self._starts, start)
            if i > 0:
                left = self._starts[i - 1]
                if left >= lo and left + self._size[left] == start:
                    size += self._remove(left)
                    start = left
            right = start + size
            if right in self._size and (hi is None or right < hi):
                size += self._remove(right)
        insort(self._starts, start)
        insort(self._by_size, (size, start))
        self._size[start] = size
        self.total += size
        return start, size

    def _remove(self, start: int) -> int:
        size = self._size.pop(start)
        del self._starts[bisect_left(self._starts, start)]
        del self._by_size[bisect_left(self._by_size, (size, start))]
        self.total -= size
        return size

    def take(self, start: int, nbytes: int) -> None:
        """Allocate the low ``nbytes`` of the free block at ``start``; the rest stays free, unmerged."""
        size = self._remove(start)
        if size > nbytes:
            self.add(start + nbytes, size - nbytes, coalesce=False)

    def pop(self, start: int) -> int:
        """Remove the whole free block at ``start`` and return its size."""
        return self._remove(start)

    def first_fit(self, nbytes: int) -> int | None:
        """The lowest-addressed block of at least ``nbytes``."""
        for s in self._starts:
            if self._size[s] >= nbytes:
                return s
        return None

    def best_fit(self, nbytes: int) -> int | None:
        """The smallest block of at least ``nbytes``; the lowest address among equal sizes."""
        i = bisect_left(self._by_size, (nbytes, -1))
        return self._by_size[i][1] if i < len(self._by_size) else None

    def worst_fit(self, nbytes: int) -> int | None:
        """The largest block, if it holds ``nbytes``; the lowest address among equal sizes."""
        big = self.largest
        if big < nbytes:
            return None
        return self._by_size[bisect_left(self._by_size, (big, -1))][1]

    def next_fit(self, nbytes: int, rover: int) -> int | None:
        """The first block of at least ``nbytes`` met scanning up from ``rover``, wrapping once.

        The scan starts at the block containing ``rover`` (it is then taken from its start) or,
        if ``rover`` is not in a free block, the first block above it.
        """
        n = len(self._starts)
        if n == 0:
            return None
        i = bisect_right(self._starts, rover) - 1
        if i < 0 or self._starts[i] + self._size[self._starts[i]] <= rover:
            i += 1
        for k in range(n):
            s = self._starts[(i + k) % n]
            if self._size[s] >= nbytes:
                return s
        return None


def _check_int(name: str, value: object) -> int:
    if isinstance(value, bool):
        raise VmsimError(f"{name} must be a whole number of bytes, got {value!r}")
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise VmsimError(f"{name} must be a whole number of bytes, got {value!r}") from None


def _canonical_policy(policy: str) -> str:
    name = ALIASES.get(policy, policy)
    if name not in POLICIES:
        aliases = ", ".join(f"{a} = {p}" for a, p in ALIASES.items())
        raise VmsimError(f"heap policy: unknown policy {policy!r}; valid policies: {', '.join(POLICIES)} (alias {aliases})")
    return name


class Heap:
    """Common bookkeeping of a heap over byte addresses ``[0, size)``: live objects and stats.

    Subclasses decide where a block goes (:meth:`_place`) and what freeing it does
    (:meth:`_release`). Build one with :func:`make_heap`.
    """

    policy: str

    def __init__(self, size: int, *, round: int = DEFAULT_ROUND) -> None:
        size = _check_int("heap size", size)
        if size <= 0:
            raise VmsimError(f"heap size must be a positive number of bytes, got {size}")
        round = _check_int("heap round", round)
        if round <= 0 or round & (round - 1):
            raise VmsimError(f"heap round must be a positive power of two (e.g. 512), got {round}")
        self.size = size
        self.round = round
        #: Live objects: address -> (block size after rounding, requested size).
        self._live: dict[int, tuple[int, int]] = {}
        self._live_bytes = 0
        self._allocated_bytes = 0
        self.alloc_calls = 0
        self.failed_allocs = 0

    def __len__(self) -> int:
        return len(self._live)

    def rounded(self, nbytes: int) -> int:
        """``nbytes`` rounded up to a multiple of ``round``: the block size a request gets."""
        return -(-nbytes // self.round) * self.round

    def alloc(self, nbytes: int) -> int | None:
        """Place an object of ``nbytes`` and return its address, or None if no free block fits."""
        nbytes = _check_int("alloc size", nbytes)
        if nbytes <= 0:
            raise VmsimError(f"alloc size must be a positive number of bytes, got {nbytes}")
        self.alloc_calls += 1
        block = self.rounded(nbytes)
        addr = self._place(block)
        if addr is None:
            self.failed_allocs += 1
            return None
        self._live[addr] = (block, nbytes)
        self._live_bytes += nbytes
        self._allocated_bytes += block
        return addr

    def free(self, addr: int) -> None:
        """Free the live object at ``addr``; an address that is not live (never or already freed) is an error."""
        try:
            block, nbytes = self._live.pop(addr)
        except KeyError:
            raise VmsimError(f"free of address {addr}: no live object starts there (unknown or already freed)") from None
        self._live_bytes -= nbytes
        self._allocated_bytes -= block
        self._release(addr, block)

    def size_of(self, addr: int) -> int:
        """The size the live object at ``addr`` was asked for."""
        try:
            return self._live[addr][1]
        except KeyError:
            raise VmsimError(f"address {addr}: no live object starts there") from None

    def block_of(self, addr: int) -> int:
        """The size of the block the live object at ``addr`` holds (its request, rounded)."""
        try:
            return self._live[addr][0]
        except KeyError:
            raise VmsimError(f"address {addr}: no live object starts there") from None

    def objects(self) -> list[tuple[int, int, int]]:
        """Live objects as ``(addr, block_bytes, requested_bytes)``, in address order."""
        return [(a, *self._live[a]) for a in sorted(self._live)]

    def free_blocks(self) -> list[tuple[int, int]]:
        """Blocks free for new reservations as ``(start, size)``, in address order."""
        return self._free.blocks()

    def empty_cache(self) -> int:
        """Give cached blocks back to the segment; returns the bytes released (0: nothing is cached)."""
        return 0

    def stats(self) -> HeapStats:
        """A snapshot of the accounting (see :class:`HeapStats`)."""
        free = self._free.total
        largest = self._free.largest
        reserved = self._reserved_bytes()
        return HeapStats(
            policy=self.policy,
            size=self.size,
            live_objects=len(self._live),
            live_bytes=self._live_bytes,
            allocated_bytes=self._allocated_bytes,
            reserved_bytes=reserved,
            cached_bytes=reserved - self._allocated_bytes,
            free_bytes=free,
            largest_free=largest,
            free_block_count=len(self._free),
            external_fragmentation=1.0 - largest / free if free else 0.0,
            reserved_minus_live=reserved - self._live_bytes,
            rounding_loss=self._allocated_bytes - self._live_bytes,
            segment_count=self._segment_count(),
            alloc_calls=self.alloc_calls,
            failed_allocs=self.failed_allocs,
        )

    # -- what subclasses provide ------------------------------------------------------------

    _free: FreeList

    def _place(self, block: int) -> int | None:
        raise NotImplementedError

    def _release(self, addr: int, block: int) -> None:
        raise NotImplementedError

    def _reserved_bytes(self) -> int:
        return self._allocated_bytes

    def _segment_count(self) -> int:
        return 1


class FitHeap(Heap):
    """First-, next-, best- or worst-fit placement on one free list, splitting and coalescing.

    Every policy puts the object at the low end of the block it picks; the rest of the block stays
    free. Tie-breaks:

    * ``first_fit``: the lowest-addressed free block that is big enough.
    * ``next_fit``: like first fit, but the search starts where the last successful one ended
      (just past the last object placed), runs up through the address space and wraps round to 0.
      If that point lies inside a free block (after coalescing), that block is looked at first
      and used from its start. A failed search leaves the starting point where it was.
    * ``best_fit``: the smallest free block that is big enough; the lowest address on ties.
    * ``worst_fit``: the largest free block; the lowest address on ties.

    With ``coalesce=False`` freed blocks never merge with free neighbours, so the free list only
    ever splits (useful to show why coalescing matters).
    """

    def __init__(self, size: int, policy: str = "best_fit", *, round: int = DEFAULT_ROUND, coalesce: bool = True) -> None:
        super().__init__(size, round=round)
        policy = _canonical_policy(policy)
        if policy in ("caching", "buddy"):
            raise VmsimError(f"heap policy: FitHeap takes first_fit, next_fit, best_fit or worst_fit; use make_heap for {policy}")
        self.policy = policy
        self.coalesce = coalesce
        self._free = FreeList()
        self._free.add(0, size)
        self._rover = 0

    def _place(self, block: int) -> int | None:
        fl = self._free
        if self.policy == "first_fit":
            addr = fl.first_fit(block)
        elif self.policy == "best_fit":
            addr = fl.best_fit(block)
        elif self.policy == "worst_fit":
            addr = fl.worst_fit(block)
        else:
            addr = fl.next_fit(block, self._rover)
        if addr is None:
            return None
        fl.take(addr, block)
        self._rover = addr + block
        return addr

    def _release(self, addr: int, block: int) -> None:
        self._free.add(addr, block, coalesce=self.coalesce)


class BuddyHeap(Heap):
    """The binary buddy system over ``[0, size)``.

    A request rounded up to ``round`` is rounded again to a power of two (the block it holds); the
    smallest free block that holds it is split in halves until it fits, the upper halves staying
    free, and the lowest address wins among equal blocks. A freed block merges with its buddy (the
    block of the same size at ``addr ^ size``) while that buddy is free, level by level. A size that
    is not a power of two starts as its binary decomposition from address 0 (largest block first),
    every block aligned to its size; blocks never merge past the end.
    """

    policy = "buddy"

    def __init__(self, size: int, *, round: int = DEFAULT_ROUND) -> None:
        super().__init__(size, round=round)
        self._free = FreeList()
        start = 0
        for bit in range(size.bit_length() - 1, -1, -1):
            if size >> bit & 1:
                self._free.add(start, 1 << bit, coalesce=False)
                start += 1 << bit

    def rounded(self, nbytes: int) -> int:
        """The power-of-two block (of at least ``round`` bytes) a request of ``nbytes`` holds."""
        return next_pow2(super().rounded(nbytes))

    def _place(self, block: int) -> int | None:
        fl = self._free
        addr = fl.best_fit(block)
        if addr is None:
            return None
        size = fl.pop(addr)
        while size > block:
            size //= 2
            fl.add(addr + size, size, coalesce=False)
        return addr

    def _release(self, addr: int, block: int) -> None:
        fl = self._free
        while True:
            buddy = addr ^ block
            if buddy + block > self.size or buddy not in fl or fl.size_at(buddy) != block:
                break
            fl.pop(buddy)
            addr = min(addr, buddy)
            block *= 2
        fl.add(addr, block, coalesce=False)


class CachingHeap(Heap):
    """A caching allocator in the style of PyTorch's CUDA caching allocator (``CUDACachingAllocator.cpp``).

    A request is rounded up to ``round`` bytes. It is served best-fit (smallest adequate cached
    block, lowest address on ties) from the *cache* of free-but-reserved blocks, splitting the
    block. Only on a cache miss does the allocator reserve new space from the segment (the
    stand-in for ``cudaMalloc``), best-fit from the unreserved space; each such reservation is a
    *segment* of the allocator. A freed block goes back to the cache, merging with cached
    neighbours of the same segment, and stays reserved: ``reserved_bytes`` stays above
    ``live_bytes`` (the RSS > live effect). :meth:`empty_cache` hands every segment with no live
    object back to the unreserved space. When neither the cache nor the unreserved space can
    serve a request, the allocator empties the cache and tries once more, as PyTorch does before
    reporting out-of-memory.

    Simplifications against PyTorch: one stream and one pool (no small/large pools, so no 2 MiB
    and 20 MiB segment sizes: a reservation is exactly the rounded request); every split is
    allowed (no ``max_split_size_mb``), rounding is plain multiples of ``round`` (no
    ``roundup_power2_divisions``), no ``expandable_segments``, and the reserved space is itself
    placed inside this one segment's address range rather than anywhere in device memory.
    """

    policy = "caching"

    def __init__(self, size: int, *, round: int = DEFAULT_ROUND) -> None:
        super().__init__(size, round=round)
        self._free = FreeList()  # unreserved space of the segment
        self._free.add(0, size)
        self._cache = FreeList()  # reserved blocks holding no live object
        self._seg_starts: list[int] = []  # reservations, sorted by start
        self._seg_size: dict[int, int] = {}
        self.oom_retries = 0

    def cached_blocks(self) -> list[tuple[int, int]]:
        """Free blocks kept reserved in the cache, as ``(start, size)`` in address order."""
        return self._cache.blocks()

    def segments(self) -> list[tuple[int, int]]:
        """Reserved segments as ``(start, size)``, in address order."""
        return [(s, self._seg_size[s]) for s in self._seg_starts]

    def _segment_of(self, addr: int) -> tuple[int, int]:
        start = self._seg_starts[bisect_right(self._seg_starts, addr) - 1]
        return start, start + self._seg_size[start]

    def _place(self, block: int) -> int | None:
        addr = self._cache.best_fit(block)
        if addr is not None:
            self._cache.take(addr, block)
            return addr
        addr = self._free.best_fit(block)
        if addr is None and self._cache.total:
            self.oom_retries += 1
            self.empty_cache()
            addr = self._free.best_fit(block)
        if addr is None:
            return None
        self._free.take(addr, block)
        insort(self._seg_starts, addr)
        self._seg_size[addr] = block
        return addr

    def _release(self, addr: int, block: int) -> None:
        lo, hi = self._segment_of(addr)
        self._cache.add(addr, block, lo=lo, hi=hi)

    def empty_cache(self) -> int:
        """Release every segment that holds no live object back to the unreserved space.

        Cached blocks in a segment that still holds a live object stay cached, as in PyTorch.
        Returns the bytes released.
        """
        released = 0
        keep: list[int] = []
        for start in self._seg_starts:
            size = self._seg_size[start]
            if start in self._cache and self._cache.size_at(start) == size:
                self._cache.pop(start)
                del self._seg_size[start]
                self._free.add(start, size)
                released += size
            else:
                keep.append(start)
        self._seg_starts = keep
        return released

    def _reserved_bytes(self) -> int:
        return self.size - self._free.total

    def _segment_count(self) -> int:
        return len(self._seg_starts)


def make_heap(size: int, policy: str = "best_fit", *, round: int = DEFAULT_ROUND, coalesce: bool = True) -> Heap:
    """A heap over ``[0, size)`` with the named placement policy (see :data:`POLICIES`).

    ``coalesce`` applies to the classic policies; the caching allocator always merges cached
    blocks within a segment, as PyTorch does.
    """
    name = _canonical_policy(policy)
    if name == "caching":
        return CachingHeap(size, round=round)
    if name == "buddy":
        return BuddyHeap(size, round=round)
    return FitHeap(size, policy, round=round, coalesce=coalesce)
