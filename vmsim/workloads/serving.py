"""LLM serving on a GPU at real scale: vLLM's scheduler and KV managers with a roofline clock.

One scheduler iteration at a time (continuous batching): requests arrive as a Poisson process or
from a file; waiting ones are admitted first come first served while the batch has room and the
KV manager has memory for their prompt; every running sequence then decodes one token. An
iteration lasts as long as the roofline says (docs/llm.md): the larger of reading the weights and
every running sequence's KV from device memory, and the batch's matrix work (2 x parameters
FLOPs per token) at the GPU's dense FP16 rate; swapping and demand paging add their copies over
the host link, serially.

KV managers (the paper's systems):

- ``paged`` (PagedAttention): blocks of ``block_tokens`` tokens from a free queue, on demand;
  reference counts share blocks between a request's samples (copy-on-write on the first write to
  a shared block); with prefix caching, full blocks are kept by content (parent and tokens) and
  free cached blocks are reused least recently freed first, a finished request's in reverse order.
  When a running sequence needs a block and none is free, the newest running request is preempted
  whole, by ``recompute`` (its blocks freed, prefilled again on readmission) or ``swap`` (its
  blocks copied to host memory over the link, copied back before anything new is admitted).
- ``contiguous``: each request reserves one contiguous region at admission, of max_model_len
  (``reserve: max``), its final length rounded up to a power of two (``pow2``) or exactly its
  final length (``oracle``), placed by the ``heap`` allocator (a buddy system by default, as
  the paper's Orca baselines; its rounding to a power of two counts as external fragmentation). The
  reservation covers the whole output, so nothing is preempted.
- ``os_demand``: no manager: the KV lives in demand-paged memory (Unified Memory), one page per
  block, with the device's KV memory as the frames and the kernel's replacement policy choosing
  victims. Every fault copies a block over the link (a dirty victim is copied back first).

Memory accounting (fractions of the KV pool, averaged over simulated time, the vLLM paper's
Figure 2 categories): token states (KV slots holding a token), reservation (reserved for tokens
the request will still generate), internal fragmentation (reserved beyond the request's final
length, or a paged block's slots it never fills), external fragmentation (free memory while the
request at the head of the queue cannot be placed) and free.

References: one per KV block a running sequence reads in an iteration, its last block written;
the weights are pinned in device memory and not counted. Only ``os_demand`` can fault.
"""

from __future__ import annotations

import csv
import math
import random
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vmsim.alloc.heap import make_heap, next_pow2
from vmsim.errors import VmsimError
from vmsim.hw.access import Chunk
from vmsim.hw.segments import AddressSpace
from vmsim.kernel.sampler import MAX_SAMPLES, compact, verdict
from vmsim.metrics.progress import ProgressFn
from vmsim.metrics.results import LLMRecord, ProcessStats, Sample, SimResult, totals
from vmsim.policies import PolicySpec
from vmsim.vm.loops import Runner
from vmsim.vm.pager import Pager

#: vLLM's block manager keeps 1% of the blocks free at admission (``watermark=0.01``), so that
#: running sequences can grow without preempting at once.
WATERMARK = 0.01


@dataclass(frozen=True)
class ServingConfig:
    """Everything a serving run needs, resolved to numbers (bytes, seconds, FLOP/s)."""

    model: str
    gpu: str
    kv_bytes_per_token: int
    weight_bytes: int
    params: float
    device_memory: int
    bandwidth: float
    flops: float
    link_bandwidth: float
    link_latency_s: float
    manager: str
    reserve: str
    heap: str
    preemption: str
    block_tokens: int
    pool_bytes: int
    swap_bytes: int
    prefix_caching: bool
    max_model_len: int
    max_num_seqs: int
    max_batched_tokens: int
    duration_s: float
    rate: float
    prompt_mean: float
    prompt_sigma: float
    output_mean: float
    output_sigma: float
    requests_file: str | None
    samples: int
    beam_width: int
    prefix_tokens: int
    prefix_count: int
    policy: PolicySpec
    sample_s: float

    @property
    def block_bytes(self) -> int:
        """Bytes of one KV block."""
        return self.block_tokens * self.kv_bytes_per_token

    @property
    def pool_blocks(self) -> int:
        """Blocks the KV pool holds."""
        return self.pool_bytes // self.block_bytes

    @property
    def pool_tokens(self) -> int:
        """Tokens the KV pool holds: in whole blocks for paged, else in any amount."""
        if self.manager == "paged":
            return self.pool_blocks * self.block_tokens
        return self.pool_bytes // self.kv_bytes_per_token

    @property
    def width(self) -> int:
        """Sequences per request: its parallel samples or beams."""
        return self.samples * self.beam_width


@dataclass(slots=True)
class _Request:
    """A request and the sequences it runs (its samples or beams), which share its prompt."""

    rid: int
    arrival: float
    prompt: int
    output: int
    prefix: int  # which shared system prompt it starts with (-1: none)
    width: int
    generated: int = 0
    #: Per sequence: its block table (paged), its virtual blocks (os_demand).
    tables: list[list[int]] = field(default_factory=list)
    #: contiguous: the reservation's address and size in tokens.
    addr: int = -1
    reserved: int = 0
    first_token: float = -1.0
    #: Swapped out: its block tables, block ids standing for the blocks it shares.
    layout: list[list[int]] = field(default_factory=list)
    recompute: int = 0  # tokens to prefill again on readmission

    @property
    def length(self) -> int:
        """Tokens in its KV: the prompt and what it has generated."""
        return self.prompt + self.generated

    @property
    def final(self) -> int:
        """Tokens in its KV when it finishes."""
        return self.prompt + self.output


def load_requests(path: str, max_model_len: int) -> list[tuple[float, int, int]]:
    """Rows of (arrival seconds, prompt tokens, output tokens) from a CSV file (a header row is
    allowed), checked line by line."""
    rows: list[tuple[float, int, int]] = []
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise VmsimError(f"{path}: cannot read the requests file ({e.strerror or e})") from None
    for n, row in enumerate(csv.reader(text.splitlines()), 1):
        if not row or row[0].startswith("#"):
            continue
        if n == 1 and not row[0].strip().replace(".", "", 1).isdigit():
            continue  # header
        if len(row) != 3:
            raise VmsimError(f"{path}:{n}: expected arrival_s,prompt_tokens,output_tokens, got {len(row)} fields")
        try:
            arrival, prompt, output = float(row[0]), int(row[1]), int(row[2])
        except ValueError:
            raise VmsimError(
                f"{path}:{n}: expected a number of seconds and two whole token counts, got {','.join(row)!r}"
            ) from None
        if not math.isfinite(arrival) or arrival < 0 or prompt < 1 or output < 1:
            raise VmsimError(f"{path}:{n}: arrival must be >= 0 and both lengths >= 1")
        if prompt + output > max_model_len:
            raise VmsimError(f"{path}:{n}: prompt plus output ({prompt + output}) exceeds max_model_len ({max_model_len})")
        if rows and arrival < rows[-1][0]:
            raise VmsimError(f"{path}:{n}: arrivals must not decrease")
        rows.append((arrival, prompt, output))
    if not rows:
        raise VmsimError(f"{path}: no requests")
    return rows


class Serving:
    """One serving run of a :class:`ServingConfig` (see the module doc)."""

    def __init__(self, cfg: ServingConfig, seed: int, name: str, scenario: str, rng: random.Random) -> None:
        self.cfg, self.seed, self.name, self.scenario, self.rng = cfg, seed, name, scenario, rng
        if cfg.manager != "os_demand" and cfg.pool_blocks < 1:
            raise VmsimError(
                f"llm_infer: the KV pool ({cfg.pool_bytes:,} bytes) holds less than one block; "
                "the weights leave too little device memory",
                field="kv",
            )
        if cfg.manager == "contiguous" and cfg.reserve == "max" and cfg.pool_tokens < cfg.max_model_len:
            raise VmsimError(
                f"llm_infer: the KV pool ({cfg.pool_bytes:,} bytes) cannot reserve one max_model_len sequence", field="kv"
            )
        self.file_rows = load_requests(cfg.requests_file, cfg.max_model_len) if cfg.requests_file else None

    # ------------------------------------------------------------------ arrivals

    def _arrivals(self) -> list[_Request]:
        """Every request arriving within the run, seeded."""
        c = self.cfg
        gen = np.random.default_rng(self.seed)
        out: list[_Request] = []
        if self.file_rows is not None:
            for i, (t, p, o) in enumerate(self.file_rows):
                if t >= c.duration_s:
                    break
                out.append(_Request(i, t, p, o, -1, c.width))
            return out
        if c.rate <= 0:
            return out
        mu_p = math.log(c.prompt_mean) - c.prompt_sigma**2 / 2
        mu_o = math.log(c.output_mean) - c.output_sigma**2 / 2
        limit = c.max_model_len
        expected = c.rate * c.duration_s
        n = int(expected + 6 * math.sqrt(expected) + 16)
        times = np.cumsum(gen.exponential(1.0 / c.rate, n))
        while times[-1] < c.duration_s:  # (never, in practice) more arrivals than drawn
            times = np.concatenate([times, times[-1] + np.cumsum(gen.exponential(1.0 / c.rate, n))])
        times = times[times < c.duration_s]
        k = len(times)
        prefix = gen.integers(c.prefix_count, size=k) if c.prefix_tokens else np.full(k, -1)
        own = np.rint(gen.lognormal(mu_p, c.prompt_sigma, k)).astype(np.int64)
        prompt = np.clip(c.prefix_tokens + own, 1, limit - 1)
        output = np.clip(np.rint(gen.lognormal(mu_o, c.output_sigma, k)).astype(np.int64), 1, limit - prompt)
        return [
            _Request(i, t, p, o, x, c.width)
            for i, (t, p, o, x) in enumerate(zip(times.tolist(), prompt.tolist(), output.tolist(), prefix.tolist(), strict=True))
        ]

    # ------------------------------------------------------------------ the run

    def run(self, on_sample: ProgressFn | None = None) -> SimResult:
        """Serve for ``duration_s`` simulated seconds and report."""
        return _Run(self, on_sample).go()


class _Blocks:
    """The paged manager's block pool: free queue, reference counts, fill, prefix cache."""

    def __init__(self, n: int, caching: bool) -> None:
        self.caching = caching
        #: Free blocks, least recently freed first (dict as an ordered set).
        self.free: OrderedDict[int, None] = OrderedDict((b, None) for b in range(n))
        self.ref = [0] * n
        self.fill = [0] * n
        self.key: list[object] = [None] * n
        self.cached: dict[object, int] = {}
        self.cow = 0
        self.queries = self.hits = 0
        #: Blocks someone holds, and the tokens they hold (kept as blocks change, for the accounts).
        self.held = self.filled = 0

    @property
    def available(self) -> int:
        """Free blocks (cached ones included: taking one evicts its content)."""
        return len(self.free)

    def take(self) -> int:
        """A free block (evicting its cached content, if any)."""
        b, _ = self.free.popitem(last=False)
        k = self.key[b]
        if k is not None:
            del self.cached[k]
            self.key[b] = None
        self.ref[b] = 1
        self.fill[b] = 0
        self.held += 1
        return b

    def set_fill(self, b: int, tokens: int) -> None:
        """Block ``b`` (held) now holds ``tokens`` tokens."""
        self.filled += tokens - self.fill[b]
        self.fill[b] = tokens

    def take_cached(self, b: int) -> int:
        """A cached block shared (a prefix-cache hit): out of the free queue if no one held it."""
        if self.ref[b] == 0:
            del self.free[b]
            self.held += 1
            self.filled += self.fill[b]
        self.ref[b] += 1
        return b

    def seal(self, b: int, key: object) -> None:
        """Block ``b`` is full with this content: cache it (prefix caching)."""
        if self.caching and self.key[b] is None and key not in self.cached:
            self.key[b] = key
            self.cached[key] = b

    def drop(self, b: int) -> None:
        """One reference fewer; a block no one holds joins the end of the free queue."""
        self.ref[b] -= 1
        if self.ref[b] == 0:
            self.held -= 1
            self.filled -= self.fill[b]
            if self.key[b] is None:
                self.fill[b] = 0
            self.free[b] = None


class _Run:
    """The state of one serving run."""

    def __init__(self, s: Serving, on_sample: ProgressFn | None) -> None:
        self.s, self.c, self.on_sample = s, s.cfg, on_sample
        c = self.c
        self.pending = deque(s._arrivals())
        self.arrived = len(self.pending)
        self.waiting: deque[_Request] = deque()
        self.running: list[_Request] = []
        self.swapped: deque[_Request] = deque()
        self.gen = random.Random(s.seed)
        self.now = 0.0
        self.blocks = _Blocks(c.pool_blocks, c.prefix_caching) if c.manager == "paged" else None
        self.heap = make_heap(c.pool_tokens, c.heap, round=1) if c.manager == "contiguous" else None
        self.swap_free = c.swap_bytes // c.block_bytes
        #: vLLM admits a prompt only if this many blocks stay free after it (1% of the pool).
        self.watermark = int(WATERMARK * c.pool_blocks)
        self.pool_tokens = c.pool_tokens
        self.finished: list[_Request] = []
        self.tokens = self.preemptions = self.swaps = self.recomputed = self.iterations = self.rejected = 0
        self.refs = 0
        self.link_bytes = 0
        self.link_s = self.compute_s = self.memory_s = self.busy_s = 0.0
        self.shares = np.zeros(5)  # token, reservation, internal, external, free (x seconds)
        self.logical = self.physical = 0.0  # block-seconds, for the sharing saving
        self.max_batch = 0
        self.batch_s = 0.0
        self.samples: list[Sample] = []
        self.period = c.sample_s
        self._next_sample = c.sample_s
        self.accounted = 0.0
        self._last = (0.0, 0, 0, 0.0)
        self._busy0 = 0.0
        self.partial = False
        self.tpot: list[float] = []
        if c.manager == "os_demand":
            frames = max(1, c.pool_blocks)
            self.pager: Pager | None = Pager(frames, c.policy, s.rng)
            space = AddressSpace.flat()
            if self.pager.plan.table is not None:  # a fused loop keeps its order in the table
                space.tables[0].entries = OrderedDict()
            self.pager.add_process(0, space)
            self.runner = Runner(self.pager, {0: space.tables[0].entries})
            self.vfree: list[int] = []
            self.vnext = 0
        else:
            self.pager = None

    # ------------------------------------------------------------------ memory: paged

    def _key(self, r: _Request, seq: int, idx: int) -> object:
        """A full block's content: the shared system prompt's, else this request's own."""
        if r.prefix >= 0 and (idx + 1) * self.c.block_tokens <= self.c.prefix_tokens:
            return ("prefix", r.prefix, idx)
        return (r.rid, 0 if (idx + 1) * self.c.block_tokens <= r.prompt else seq, idx)

    def _paged_admit(self, r: _Request) -> bool:
        """Blocks for the prompt (plus the tokens to recompute), shared by every sequence, if the
        free blocks left afterwards stay above the watermark; with prefix caching, the leading full
        blocks found in the cache are shared instead of filled."""
        b = self.blocks
        assert b is not None
        bt = self.c.block_tokens
        tokens = r.length
        need_full, part = divmod(tokens, bt)
        hits: list[int] = []
        if b.caching:
            for idx in range(need_full):
                got = b.cached.get(self._key(r, 0, idx))
                if got is None:
                    break
                hits.append(got)
        idle_hits = sum(1 for blk in hits if b.ref[blk] == 0)  # taking these empties the free queue too
        new = need_full - len(hits) + (1 if part else 0)
        if new + idle_hits > b.available - self.watermark:
            return False
        if b.caching:
            b.queries += tokens
            b.hits += len(hits) * bt
        table = [b.take_cached(blk) for blk in hits]
        for idx in range(len(hits), need_full):
            blk = b.take()
            b.set_fill(blk, bt)
            b.seal(blk, self._key(r, 0, idx))
            table.append(blk)
        if part:
            blk = b.take()
            b.set_fill(blk, part)
            table.append(blk)
        for blk in table:
            b.ref[blk] += r.width - 1
        r.tables = [list(table) for _ in range(r.width)]
        r.recompute = tokens - len(hits) * bt
        return True

    def _paged_append(self, r: _Request) -> bool:
        """Room for every sequence's next token (a new block, or a copy of a shared one)."""
        b = self.blocks
        assert b is not None
        bt = self.c.block_tokens
        pos = r.length  # the new token's index
        for seq, table in enumerate(r.tables):
            if len(table) * bt <= pos:
                if not b.available:
                    return False
                blk = b.take()
                table.append(blk)
            else:
                blk = table[-1]
                if b.ref[blk] > 1:  # copy-on-write
                    if not b.available:
                        return False
                    copy = b.take()
                    b.set_fill(copy, b.fill[blk])
                    b.drop(blk)
                    table[-1] = blk = copy
                    b.cow += 1
            b.set_fill(blk, pos % bt + 1)
            if b.fill[blk] == bt:
                b.seal(blk, self._key(r, seq, len(table) - 1))
        return True

    def _beam_reselect(self, r: _Request) -> None:
        """Beam search: every beam continues one of the group's beams, drawn at random (seeded),
        sharing its blocks."""
        b = self.blocks
        if b is None or r.width < 2 or self.c.beam_width < 2:
            return
        picks = [self.gen.randrange(r.width) for _ in range(r.width)]
        tables = [list(r.tables[p]) for p in picks]
        for t in tables:
            for blk in t:
                b.ref[blk] += 1
        for t in r.tables:
            for blk in t:
                b.drop(blk)
        r.tables = tables

    def _paged_release(self, r: _Request) -> None:
        """Drop every block of the request's tables, each table's last block first."""
        b = self.blocks
        assert b is not None
        for table in r.tables:
            for blk in reversed(table):
                b.drop(blk)
        r.tables = []

    # ------------------------------------------------------------------ memory: the managers

    def _reservation(self, r: _Request) -> int:
        """Tokens a contiguous manager reserves for the request."""
        c = self.c
        return {"max": c.max_model_len, "pow2": min(next_pow2(r.final), c.max_model_len), "oracle": r.final}[c.reserve]

    def _fits_ever(self, r: _Request) -> bool:
        """Whether the request's KV (prompt, the tokens to recompute, the next token) fits an
        empty pool: one that never would is rejected."""
        c = self.c
        if c.manager == "paged":
            return -(-(r.length + 1) // c.block_tokens) * r.width <= c.pool_blocks - self.watermark
        if c.manager == "contiguous":
            return self._reservation(r) <= c.pool_tokens
        return True

    def _admit(self, r: _Request) -> bool:
        """Memory for the request's prompt (and tokens to recompute) from its manager; False if it
        does not fit now."""
        c = self.c
        if c.manager == "paged":
            return self._paged_admit(r)
        if c.manager == "contiguous":
            assert self.heap is not None
            size = self._reservation(r)
            addr = self.heap.alloc(size)  # the heap counts tokens
            if addr is None:
                return False
            r.addr, r.reserved = addr, size
            r.recompute = r.length
            return True
        r.tables = [self._vblocks(r.length) for _ in range(r.width)]
        r.recompute = r.length
        return True

    def _vblocks(self, tokens: int) -> list[int]:
        """os_demand: virtual blocks for ``tokens`` tokens, freed ones reused first."""
        n = -(-tokens // self.c.block_tokens)
        out = []
        for _ in range(n):
            if self.vfree:
                out.append(self.vfree.pop())
            else:
                out.append(self.vnext)
                self.vnext += 1
        return out

    def _append(self, r: _Request) -> bool:
        """Room for every sequence's next token; False if the paged pool has none (preempt)."""
        if self.c.manager == "paged":
            return self._paged_append(r)
        if self.c.manager == "os_demand" and r.length % self.c.block_tokens == 0:
            for t in r.tables:
                t.extend(self._vblocks(1))
        return True

    def _release(self, r: _Request) -> None:
        """Give a finished request's memory back to its manager."""
        if self.c.manager == "paged":
            self._paged_release(r)
        elif self.c.manager == "contiguous":
            assert self.heap is not None
            self.heap.free(r.addr)
            r.addr = -1
        else:
            for t in r.tables:
                self.vfree.extend(reversed(t))
            r.tables = []

    # ------------------------------------------------------------------ the scheduler

    def _preempt(self) -> float:
        """Preempt the newest running request; the link time a swap-out takes."""
        victim = self.running.pop()
        self.preemptions += 1
        c = self.c
        b = self.blocks
        assert b is not None
        blocks = _distinct(victim.tables)
        if c.preemption == "swap" and blocks <= self.swap_free:
            self.swap_free -= blocks
            self.swaps += 1
            victim.layout = [list(t) for t in victim.tables]
            self._paged_release(victim)
            self.swapped.append(victim)
            return self._copy(blocks)
        self._paged_release(victim)
        victim.recompute = victim.length
        self.waiting.appendleft(victim)
        return 0.0

    def _copy(self, blocks: int) -> float:
        """Seconds to copy ``blocks`` KV blocks over the host link."""
        if not blocks:
            return 0.0
        n = blocks * self.c.block_bytes
        self.link_bytes += n
        t = self.c.link_latency_s + n / self.c.link_bandwidth
        self.link_s += t
        return t

    def _swap_in(self) -> float:
        """Bring swapped requests back, oldest first, while their blocks fit."""
        b = self.blocks
        t = 0.0
        bt = self.c.block_tokens
        while self.swapped and b is not None and self._seqs() + self.swapped[0].width <= self.c.max_num_seqs:
            r = self.swapped[0]
            if _distinct(r.layout) > b.available - self.watermark:
                break
            self.swapped.popleft()
            moved: dict[int, int] = {}
            r.tables = []
            for table in r.layout:
                new = []
                for idx, old in enumerate(table):
                    if old in moved:
                        b.ref[moved[old]] += 1
                    else:
                        moved[old] = b.take()
                        b.set_fill(moved[old], min(bt, r.length - idx * bt))
                    new.append(moved[old])
                r.tables.append(new)
            r.layout = []
            self.swap_free += len(moved)
            self.running.append(r)
            t += self._copy(len(moved))
        return t

    def go(self) -> SimResult:
        """Iterations until the duration (idle gaps skipped to the next arrival), then the result."""
        c = self.c
        while self.now < c.duration_s:
            while self.pending and self.pending[0].arrival <= self.now:
                self.waiting.append(self.pending.popleft())
            if not self.running and not self.waiting and not self.swapped:
                self._idle(blocked=False)
                continue
            self._iteration()
            if self.now >= self._next_sample:
                self._sample()
                if self.on_sample is not None and self.on_sample(self.refs, self._count("faults")):
                    self.partial = True
                    break
        return self._result()

    def _idle(self, blocked: bool) -> None:
        """Nothing to run: the clock moves to the next arrival (or the end)."""
        until = self.pending[0].arrival if self.pending else self.c.duration_s
        self._account(until - self.now, blocked)
        self.now = until

    def _iteration(self) -> None:
        """One scheduler iteration: swap-ins or admissions, one token for every running sequence
        (preempting when blocks run out), the roofline's time, and the finished requests."""
        c = self.c
        link = self._swap_in() if self.swapped else 0.0
        prefill = 0
        blocked = False
        if not self.swapped:
            budget = c.max_batched_tokens
            while self.waiting and self._seqs() + self.waiting[0].width <= c.max_num_seqs:
                r = self.waiting[0]
                if r.length > budget and prefill:
                    break
                if not self._fits_ever(r):  # vLLM rejects such a prompt rather than wait for it forever
                    self.waiting.popleft()
                    self.rejected += 1
                    continue
                if not self._admit(r):
                    blocked = True
                    break
                self.waiting.popleft()
                self.running.append(r)
                prefill += r.recompute
                if r.generated:
                    self.recomputed += r.recompute
                budget -= r.length
        else:
            blocked = bool(self.waiting)
        # decode: every running request's sequences get their next token
        i = 0
        decoding: list[_Request] = []
        while i < len(self.running):
            r = self.running[i]
            if not self._append(r):
                link += self._preempt()
                if i >= len(self.running):
                    break
                continue
            decoding.append(r)
            i += 1
        if not decoding and not prefill and not link:
            self._idle(blocked)
            return
        kv_read = sum(r.length * r.width for r in decoding) * c.kv_bytes_per_token
        tokens = sum(r.width for r in decoding)
        mem_s = (c.weight_bytes + kv_read + prefill * c.kv_bytes_per_token) / c.bandwidth
        comp_s = 2.0 * c.params * (prefill + tokens) / c.flops
        # every decoding sequence reads each of its blocks: the references, and for paged the
        # blocks its tables hold (the sharing saving's logical blocks)
        held = (
            sum(-(-r.length // c.block_tokens) * r.width for r in decoding)
            if c.manager == "contiguous"
            else sum(len(t) for r in decoding for t in r.tables)
        )
        self.refs += held
        page_s = self._page(decoding) if self.pager is not None else 0.0
        dt = max(mem_s, comp_s) + link + page_s
        self.memory_s += mem_s
        self.busy_s += max(mem_s, comp_s)
        self.compute_s += comp_s
        self._account(dt, blocked, held)
        self.now += dt
        self.iterations += 1
        self.max_batch = max(self.max_batch, tokens)
        self.batch_s += tokens * dt
        done = []
        for r in decoding:
            r.generated += 1
            self.tokens += r.width
            if r.first_token < 0:
                r.first_token = self.now
            self._beam_reselect(r)
            if r.generated >= r.output:
                done.append(r)
        for r in done:
            self.running.remove(r)
            self._release(r)
            self.finished.append(r)
            if r.output > 1:
                self.tpot.append((self.now - r.first_token) / (r.output - 1))

    def _page(self, decoding: list[_Request]) -> float:
        """os_demand: every decoding sequence reads its blocks and writes its last; faults copy
        blocks over the link."""
        assert self.pager is not None
        pages: list[int] = []
        writes: list[int] = []
        for r in decoding:
            for t in r.tables:
                pages += t
                writes += [0] * (len(t) - 1) + [1]
        if not pages:
            return 0.0
        acct = self.pager.accounts[0]
        warm0, w0 = acct.faults - acct.cold, acct.writebacks
        self.runner.run(Chunk(np.asarray(pages, np.int64), np.asarray(writes, np.uint8)))
        return self._copy(acct.faults - acct.cold - warm0) + self._copy(acct.writebacks - w0)

    def _count(self, name: str) -> int:
        """One of the pager's counters for the server (faults, cold, evictions, writebacks): 0
        without demand paging."""
        return int(getattr(self.pager.accounts[0], name)) if self.pager is not None else 0

    # ------------------------------------------------------------------ accounting

    def _account(self, dt: float, blocked: bool, held: int = 0) -> None:
        """This interval's KV memory in the five categories, weighted by its length; ``held``: the
        blocks in the running sequences' tables."""
        if dt <= 0:
            return
        self.accounted += dt
        c = self.c
        bt, pool_tokens = c.block_tokens, self.pool_tokens
        token = reserve = internal = lost = 0
        if c.manager == "paged":
            b = self.blocks
            assert b is not None
            token = b.filled
            internal = b.held * bt - token
            self.logical += held * dt
            self.physical += b.held * dt
        elif c.manager == "contiguous":
            assert self.heap is not None
            for r in self.running:
                token += r.length
                reserve += min(r.reserved, r.final) - r.length
                internal += max(0, r.reserved - r.final)
                lost += self.heap.block_of(r.addr) - r.reserved  # the allocator's rounding (buddy)
        else:  # os_demand: the device's KV frames hold at most a pool's worth of tokens
            token = min(pool_tokens, sum(r.length * r.width for r in self.running))
        used = token + reserve + internal + lost
        free = max(0, pool_tokens - used)
        external = lost + (free if blocked and c.manager == "contiguous" else 0)
        free -= external - lost
        self.shares += np.array([token, reserve, internal, external, free], float) / max(1, pool_tokens) * dt

    def _seqs(self) -> int:
        """Sequences running (a request runs one per sample or beam)."""
        return sum(r.width for r in self.running)

    def _sample(self) -> None:
        """One sample: the link's busy share over the period, KV blocks held, sequences running."""
        c = self.c
        t0, e0, f0, busy0 = self._last
        span = self.now - t0
        held = sum(-(-r.length // c.block_tokens) * r.width for r in self.running)
        self.samples.append(
            Sample(
                t_s=round(self.now, 9),
                cpu_utilization=round(min(1.0, (self.busy_s - self._busy0) / span), 6) if span else 0.0,
                paging_device_utilization=round(min(1.0, (self.link_s - busy0) / span), 6) if span else 0.0,
                faults=self._count("faults") - f0,
                evictions=self._count("evictions") - e0,
                rss=(held,),
                working_set=(held,),
                active=self._seqs(),
            )
        )
        self._busy0 = self.busy_s
        self._last = (self.now, self._count("evictions"), self._count("faults"), self.link_s)
        while self._next_sample <= self.now:
            self._next_sample += self.period
        if len(self.samples) >= 2 * MAX_SAMPLES:
            self.samples = compact(self.samples)
            self.period *= 2

    def _result(self) -> SimResult:
        """The run as a SimResult: one process (the server) and the LLM record."""
        c = self.c
        if not self.samples or self.samples[-1].t_s < round(self.now, 9):
            self._sample()
        elapsed = self.now  # the last iteration may end past the duration
        ttft = [r.first_token - r.arrival for r in self.finished]
        shares = self.shares / self.accounted if self.accounted else self.shares
        b = self.blocks
        record = LLMRecord(
            model=c.model,
            gpu=c.gpu,
            manager=c.manager if c.manager != "contiguous" else f"contiguous-{c.reserve}",
            preemption=c.preemption if c.manager == "paged" else None,
            kv_bytes_per_token=c.kv_bytes_per_token,
            weight_bytes=c.weight_bytes,
            kv_pool_bytes=c.pool_bytes,
            duration_s=round(elapsed, 6),
            iterations=self.iterations,
            requests=self.arrived,
            finished=len(self.finished),
            rejected=self.rejected,
            output_tokens=self.tokens,
            throughput_tokens_s=round(self.tokens / elapsed, 6) if elapsed else 0.0,
            throughput_requests_s=round(len(self.finished) / elapsed, 6) if elapsed else 0.0,
            mean_batch=round(self.batch_s / elapsed, 6) if elapsed else 0.0,
            max_batch=self.max_batch,
            ttft_p50_s=_pct(ttft, 50),
            ttft_p99_s=_pct(ttft, 99),
            tpot_p50_s=_pct(self.tpot, 50),
            tpot_p99_s=_pct(self.tpot, 99),
            token_share=round(float(shares[0] / (1 - shares[4])), 6) if shares[4] < 1 else 0.0,
            kv_token_states=round(float(shares[0]), 6),
            kv_reservation=round(float(shares[1]), 6),
            kv_internal_fragmentation=round(float(shares[2]), 6),
            kv_external_fragmentation=round(float(shares[3]), 6),
            kv_free=round(float(shares[4]), 6),
            preemptions=self.preemptions,
            swapped_out=self.swaps,
            recomputed_tokens=self.recomputed,
            link_bytes=self.link_bytes,
            link_busy_s=round(self.link_s, 6),
            prefix_hit_ratio=round(b.hits / b.queries, 6) if b is not None and c.prefix_caching and b.queries else None,
            cow_copies=b.cow if b is not None else 0,
            sharing_saving=round(1 - self.physical / self.logical, 6) if self.logical else 0.0,
        )
        busy = min(1.0, self.link_s / elapsed) if elapsed else 0.0
        proc = ProcessStats(
            pid=0,
            name=self.s.name,
            group=self.s.name,
            references=self.refs,
            hits=self.refs - self._count("faults"),
            faults=self._count("faults"),
            cold_faults=self._count("cold"),
            evictions=self._count("evictions"),
            writebacks=self._count("writebacks"),
            arrival_s=0.0,
            finish_s=None,
            running_s=round(elapsed, 9),
            ready_s=0.0,
            blocked_s=0.0,
            suspended_s=0.0,
            suspensions=0,
            max_rss=0,
            workload=None,
        )
        frames = c.pool_blocks
        return SimResult(
            scenario=self.s.scenario,
            seed=self.s.seed,
            frames=frames,
            policy=c.policy.label if c.manager == "os_demand" else c.manager,
            scope="global",
            **totals((proc,)),
            simulated_time_s=round(elapsed, 9),
            context_switches=0,
            cpu_utilization=round(min(1.0, self.busy_s / elapsed), 6) if elapsed else 0.0,
            paging_device_utilization=busy,
            thrashing=verdict(self.samples, self.period, elapsed),
            processes=(proc,),
            samples=tuple(self.samples),
            partial=self.partial,
            llm=record,
        )


def _distinct(tables: list[list[int]]) -> int:
    """Blocks the tables hold, each shared one once."""
    return len({blk for t in tables for blk in t})


def _pct(values: list[float], q: float) -> float | None:
    """The q-th percentile (linear), rounded; None with no values."""
    if not values:
        return None
    return round(float(np.percentile(values, q)), 6)
