"""``llm_infer``: LLM serving, decode step by decode step, with three ways to hold the KV cache.

KV bytes per token = 2 x layers x kv_heads x head_dim x dtype bytes (keys and values, every
layer). Requests arrive as a Poisson process (``rate`` per decode step), with prompt and output
lengths drawn from lognormal distributions (clipped to the model's maximum length). Each decode
step reads every weight page once (one forward pass for the whole batch) and, for every running
sequence, every KV page it has filled, in block-table order, then writes the page of its new
token. A prompt is prefilled (its KV pages written) when the request is admitted.

KV managers:

- ``paged`` (vLLM's PagedAttention): a pool of fixed blocks of ``block_tokens`` tokens, allocated
  on demand; when a sequence needs a block and none is free, the newest running sequence is
  preempted whole (its blocks freed; it waits at the head of the queue and is recomputed: its
  prompt and the tokens generated so far are prefilled again when readmitted).
- ``contiguous``: every admitted sequence reserves ``max_model_len`` tokens of the pool up front
  (the pre-PagedAttention systems), so fewer sequences fit and most of the reservation is unused.
  With ``heap`` set to an allocator policy (first_fit, next_fit, best_fit, worst_fit, caching),
  each sequence instead reserves exactly its prompt plus output length, placed in the pool by that
  allocator: variable-length buffers that fragment the pool (``stats()`` reports how much).
- ``os_demand``: no KV manager: each sequence's KV grows in ordinary virtual memory and the OS's
  replacement policy decides what stays resident. Nothing is ever preempted; once the running
  sequences' KV exceeds memory, every decode step loops over more KV than fits.

Page layout: the weights (file-backed) first, then the KV cache (anonymous). ``stats()`` reports
preemptions, tokens served, finished requests and the KV utilisation (filled token slots over
reserved token slots, averaged over steps).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vmsim.alloc.heap import make_heap
from vmsim.errors import VmsimError
from vmsim.hw.access import CHUNK, Chunk

MANAGERS = ("paged", "contiguous", "os_demand")


@dataclass
class _Seq:
    rid: int
    prompt: int
    output: int
    generated: int = 0
    blocks: list[int] = field(default_factory=list)  # paged: block ids; contiguous: [slot]; os: page list

    @property
    def length(self) -> int:
        return self.prompt + self.generated


@dataclass(frozen=True)
class LLMInfer:
    """The serving loop as a reference stream (see the module doc)."""

    seed: int
    steps: int = 500
    n_layers: int = 4
    n_kv_heads: int = 2
    head_dim: int = 64
    dtype_bytes: int = 2
    weight_bytes: int = 4 << 20
    manager: str = "paged"
    block_tokens: int = 16
    pool_bytes: int = 8 << 20
    max_model_len: int = 1024
    max_num_seqs: int = 64
    rate: float = 0.2
    prompt_mean: float = 200.0
    output_mean: float = 100.0
    sigma: float = 0.5
    page_size: int = 4096
    heap: str | None = None

    def __post_init__(self) -> None:
        w = "llm_infer"
        for name in (
            "steps",
            "n_layers",
            "n_kv_heads",
            "head_dim",
            "dtype_bytes",
            "block_tokens",
            "max_model_len",
            "max_num_seqs",
            "page_size",
        ):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise VmsimError(f"{w}.{name} must be a whole number >= 1, got {v!r}")
        if self.weight_bytes < 0 or self.pool_bytes < 0:
            raise VmsimError(f"{w}: weight_bytes and pool_bytes must be >= 0")
        if self.manager not in MANAGERS:
            raise VmsimError(f"{w}.manager must be one of {', '.join(MANAGERS)}, got {self.manager!r}")
        if self.rate < 0 or self.prompt_mean < 1 or self.output_mean < 1 or self.sigma < 0:
            raise VmsimError(f"{w}: rate >= 0, prompt_mean >= 1, output_mean >= 1 and sigma >= 0 are required")
        if self.manager != "os_demand" and self.pool_tokens < self.block_tokens:
            raise VmsimError(f"{w}.pool_bytes ({self.pool_bytes}) holds less than one block of KV")
        if self.heap is not None:
            if self.manager != "contiguous":
                raise VmsimError(f"{w}.heap places contiguous KV buffers: it needs kv.manager contiguous")
            make_heap(max(1, self.pool_bytes), self.heap)  # validates the policy name
        elif self.manager == "contiguous" and self.pool_tokens < self.max_model_len:
            raise VmsimError(f"{w}.pool_bytes ({self.pool_bytes}) cannot reserve one sequence of max_model_len tokens")

    # ------------------------------------------------------------------ sizes

    @property
    def kv_bytes_per_token(self) -> int:
        return 2 * self.n_layers * self.n_kv_heads * self.head_dim * self.dtype_bytes

    @property
    def pool_tokens(self) -> int:
        return self.pool_bytes // self.kv_bytes_per_token

    @property
    def weight_pages(self) -> int:
        return -(-self.weight_bytes // self.page_size)

    def _pages_for(self, tokens: int) -> int:
        return -(-tokens * self.kv_bytes_per_token // self.page_size)

    @property
    def pages_per_block(self) -> int:
        return self._pages_for(self.block_tokens)

    @property
    def kv_pages(self) -> int:
        """Pages of the KV segment: the pool, or for os_demand room for max_num_seqs sequences."""
        if self.manager == "paged":
            return (self.pool_tokens // self.block_tokens) * self.pages_per_block
        if self.manager == "contiguous":
            if self.heap is not None:
                return -(-self.pool_bytes // self.page_size)
            return (self.pool_tokens // self.max_model_len) * self._pages_for(self.max_model_len)
        return self.max_num_seqs * self._pages_for(self.max_model_len)

    @property
    def footprint(self) -> int:
        return self.weight_pages + self.kv_pages

    @property
    def segments(self) -> tuple[tuple[str, int, int, bool], ...]:
        return (("weights", 0, self.weight_pages, True), ("kv_cache", self.weight_pages, self.kv_pages, False))

    # ------------------------------------------------------------------ the loop

    def chunks(self, size: int = CHUNK) -> Iterator[Chunk]:
        """The stream, a decode step (or several) per chunk; ``size`` bounds a chunk unless one
        step alone is larger."""
        pending_p: list[np.ndarray] = []
        pending_w: list[np.ndarray] = []
        n = 0
        for pages, writes in self._steps({}):
            pending_p.append(pages)
            pending_w.append(writes)
            n += len(pages)
            if n >= size:
                yield Chunk(np.concatenate(pending_p), np.concatenate(pending_w))
                pending_p, pending_w, n = [], [], 0
        if pending_p:
            yield Chunk(np.concatenate(pending_p), np.concatenate(pending_w))

    def stats(self) -> dict[str, Any]:
        """Serving statistics of the whole run (one pass over the stream's decisions)."""
        out: dict[str, Any] = {}
        for _ in self._steps(out):
            pass
        return out

    def _steps(self, stats: dict[str, Any]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        gen = np.random.default_rng(self.seed)
        mu_p = np.log(self.prompt_mean) - self.sigma**2 / 2
        mu_o = np.log(self.output_mean) - self.sigma**2 / 2
        limit = self.max_model_len
        waiting: deque[_Seq] = deque()
        running: list[_Seq] = []
        free_blocks = list(range(self.kv_pages // self.pages_per_block))[::-1] if self.manager == "paged" else []
        slots = self.pool_tokens // limit if self.manager == "contiguous" else 0
        free_slots = list(range(slots))[::-1]
        free_pages: list[int] = []  # os_demand: recycled virtual KV pages
        next_page = 0
        weights = np.arange(self.weight_pages, dtype=np.int64)
        kv0 = self.weight_pages
        ppb, tpb = self.pages_per_block, self.block_tokens
        slot_pages = self._pages_for(limit)
        preemptions = tokens = finished = rid = 0
        util_sum = frag_sum = 0.0
        kvb = self.kv_bytes_per_token
        heap = make_heap(self.pool_bytes, self.heap, round=self.page_size) if self.heap is not None else None

        def pages_of(seq: _Seq, tokens_: int) -> np.ndarray:
            """KV pages holding the first ``tokens_`` tokens of ``seq``, in table order."""
            used = self._pages_for(tokens_)
            if self.manager == "paged":
                full, part = divmod(tokens_, tpb)
                parts = [kv0 + b * ppb + np.arange(ppb) for b in seq.blocks[:full]]
                if part:
                    parts.append(kv0 + seq.blocks[full] * ppb + np.arange(self._pages_for(part)))
                return np.concatenate(parts) if parts else np.empty(0, np.int64)
            if heap is not None:
                return kv0 + np.arange(seq.blocks[0] // self.page_size, (seq.blocks[0] + tokens_ * kvb - 1) // self.page_size + 1)
            if self.manager == "contiguous":
                return kv0 + seq.blocks[0] * slot_pages + np.arange(used)
            return kv0 + np.array(seq.blocks[:used], dtype=np.int64)

        def grow(seq: _Seq, tokens_: int) -> bool:
            """Make room for ``tokens_`` tokens; False if the pool has no block left."""
            nonlocal next_page
            if self.manager == "paged":
                while len(seq.blocks) * tpb < tokens_:
                    if not free_blocks:
                        return False
                    seq.blocks.append(free_blocks.pop())
            elif self.manager == "os_demand":
                while len(seq.blocks) < self._pages_for(tokens_):
                    if free_pages:
                        seq.blocks.append(free_pages.pop())
                    else:
                        seq.blocks.append(next_page)
                        next_page += 1
            return True

        def release(seq: _Seq) -> None:
            if self.manager == "paged":
                free_blocks.extend(reversed(seq.blocks))
            elif heap is not None:
                heap.free(seq.blocks[0])
            elif self.manager == "contiguous":
                free_slots.append(seq.blocks[0])
            else:
                free_pages.extend(reversed(seq.blocks))
            seq.blocks = []

        for _ in range(self.steps):
            for _ in range(gen.poisson(self.rate)):
                prompt = int(np.clip(round(gen.lognormal(mu_p, self.sigma)), 1, limit - 1))
                output = int(np.clip(round(gen.lognormal(mu_o, self.sigma)), 1, limit - prompt))
                waiting.append(_Seq(rid, prompt, output))
                rid += 1
            step_p: list[np.ndarray] = [weights]
            step_w: list[np.ndarray] = [np.zeros(len(weights), np.uint8)]
            # admit waiting requests, first come first served (preempted ones are at the front)
            while waiting and len(running) < self.max_num_seqs:
                seq = waiting[0]
                if heap is not None:
                    addr = heap.alloc((seq.prompt + seq.output) * kvb)
                    if addr is None:
                        break
                    seq.blocks = [addr]
                elif self.manager == "contiguous":
                    if not free_slots:
                        break
                    seq.blocks = [free_slots.pop()]
                elif not grow(seq, seq.length + 1):
                    release(seq)
                    break
                waiting.popleft()
                running.append(seq)
                pre = pages_of(seq, seq.length)  # prefill (or recompute) writes the KV
                step_p.append(pre)
                step_w.append(np.ones(len(pre), np.uint8))
            # decode one token for every running sequence, preempting the newest when blocks run out
            i = 0
            while i < len(running):
                seq = running[i]
                if not grow(seq, seq.length + 1):
                    victim = running.pop()
                    release(victim)
                    waiting.appendleft(victim)
                    preemptions += 1
                    continue
                kv = pages_of(seq, seq.length)
                tail = pages_of(seq, seq.length + 1)[-1:]
                step_p += [kv, tail]
                step_w += [np.zeros(len(kv), np.uint8), np.ones(1, np.uint8)]
                seq.generated += 1
                tokens += 1
                i += 1
            reserved = sum(
                len(s.blocks) * tpb
                if self.manager == "paged"
                else s.prompt + s.output
                if heap is not None
                else limit
                if self.manager == "contiguous"
                else s.length
                for s in running
            )
            if heap is not None:
                frag_sum += heap.stats().external_fragmentation
            util_sum += sum(s.length for s in running) / reserved if reserved else 0.0
            for seq in [s for s in running if s.generated >= s.output]:
                running.remove(seq)
                release(seq)
                finished += 1
            yield np.concatenate(step_p).astype(np.int64), np.concatenate(step_w)
        stats.update(
            manager=self.manager,
            steps=self.steps,
            requests=rid,
            finished=finished,
            tokens_served=tokens,
            preemptions=preemptions,
            kv_utilization=round(util_sum / self.steps, 6),
            kv_bytes_per_token=self.kv_bytes_per_token,
        )
        if heap is not None:
            st = heap.stats()
            stats.update(
                heap=st.policy,
                mean_external_fragmentation=round(frag_sum / self.steps, 6),
                reserved_minus_live=st.reserved_minus_live,
            )
