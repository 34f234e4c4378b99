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
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from vmsim.alloc.heap import make_heap
from vmsim.errors import VmsimError
from vmsim.hw.access import CHUNK, Chunk, rechunk
from vmsim.kernel.config import SegmentPages
from vmsim.spec import Model
from vmsim.units import Size


class LLMModelSpec(Model):
    """The served model: KV bytes per token = 2 x n_layers x n_kv_heads x head_dim x dtype_bytes."""

    n_layers: int = Field(4, ge=1, description="transformer layers")
    n_kv_heads: int = Field(2, ge=1, description="key/value heads per layer")
    head_dim: int = Field(64, ge=1, description="elements per head")
    dtype_bytes: int = Field(2, ge=1, description="bytes per KV element")
    weight_bytes: Size = Field(4 << 20, ge=0, description="size of the weights (file-backed), all read every decode step")


class KVSpec(Model):
    """How the KV cache is held: paged blocks, contiguous reservations, or plain demand paging."""

    manager: Literal["paged", "contiguous", "os_demand"] = Field(
        "paged",
        description="paged: blocks allocated on demand; contiguous: max_model_len reserved per sequence; "
        "os_demand: no manager, the KV grows in ordinary pages",
    )
    block_tokens: int = Field(16, ge=1, description="tokens per KV block (paged)")
    pool_bytes: Size | None = Field(
        None, gt=0, description="KV pool (paged, contiguous); default: pool_fraction of the memory left after the weights"
    )
    pool_fraction: float = Field(
        0.9, gt=0, le=1, description="without pool_bytes: the pool's share of the memory left after the weights"
    )
    max_model_len: int = Field(1024, ge=2, description="longest sequence in tokens (prompt plus output)")
    heap: Literal["first_fit", "next_fit", "best_fit", "worst_fit", "caching"] | None = Field(
        None, description="contiguous only: place each sequence's exact-length buffer with this allocator"
    )

    @model_validator(mode="after")
    def _heap_needs_contiguous(self) -> KVSpec:
        if self.heap is not None and self.manager != "contiguous":
            raise ValueError("heap places contiguous KV buffers: it needs manager contiguous")
        return self


class LengthSpec(Model):
    """A lognormal length in tokens, clipped to the model's maximum length."""

    mean: float = Field(ge=1, description="mean length in tokens")
    sigma: float = Field(0.5, ge=0, description="lognormal sigma of the length (0: every length is the mean)")


class LLMInferSpec(Model):
    """LLM serving, decode step by decode step, with a paged, contiguous or OS-paged KV cache."""

    kind: Literal["llm_infer"] = Field(description="LLM inference serving")
    model: LLMModelSpec = Field(LLMModelSpec(), description="the model's shape and weight size")
    kv: KVSpec = Field(KVSpec(), description="the KV-cache manager and pool")
    rate_per_step: float = Field(0.2, ge=0, le=1000, description="Poisson arrivals per decode step (at most 1,000)")
    prompt_len: LengthSpec = Field(LengthSpec(mean=200), description="prompt length of a request, in tokens")
    output_len: LengthSpec = Field(LengthSpec(mean=100), description="output length of a request, in tokens")
    max_num_seqs: int = Field(64, ge=1, description="most sequences running at once")
    steps: int = Field(500, ge=1, description="decode steps to simulate")


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
    """The serving loop of the spec as a reference stream (see the module doc), with a KV pool of
    ``pool_bytes`` (the spec's, or its share of the memory the machine leaves after the weights)."""

    spec: LLMInferSpec
    seed: int
    page_size: int
    pool_bytes: int

    def __post_init__(self) -> None:
        kv = self.spec.kv
        if kv.manager != "os_demand" and self.pool_tokens < kv.block_tokens:
            raise VmsimError(f"llm_infer: the KV pool ({self.pool_bytes:,} bytes) holds less than one block of KV")
        if kv.manager == "contiguous" and kv.heap is None and self.pool_tokens < kv.max_model_len:
            raise VmsimError(
                f"llm_infer: the KV pool ({self.pool_bytes:,} bytes) cannot reserve one sequence of max_model_len tokens"
            )

    # ------------------------------------------------------------------ sizes

    @property
    def kv_bytes_per_token(self) -> int:
        """2 x layers x KV heads x head size x dtype bytes (keys and values)."""
        return 2 * self.spec.model.n_layers * self.spec.model.n_kv_heads * self.spec.model.head_dim * self.spec.model.dtype_bytes

    @property
    def pool_tokens(self) -> int:
        """Tokens of KV the pool holds."""
        return self.pool_bytes // self.kv_bytes_per_token

    @property
    def weight_pages(self) -> int:
        """Pages of the weights segment."""
        return -(-self.spec.model.weight_bytes // self.page_size)

    def _pages_for(self, tokens: int) -> int:
        return -(-tokens * self.kv_bytes_per_token // self.page_size)

    @property
    def pages_per_block(self) -> int:
        """Pages one KV block of ``block_tokens`` tokens spans."""
        return self._pages_for(self.spec.kv.block_tokens)

    @property
    def kv_pages(self) -> int:
        """Pages of the KV segment: the pool, or for os_demand room for max_num_seqs sequences."""
        if self.spec.kv.manager == "paged":
            return (self.pool_tokens // self.spec.kv.block_tokens) * self.pages_per_block
        if self.spec.kv.manager == "contiguous":
            if self.spec.kv.heap is not None:
                return -(-self.pool_bytes // self.page_size)
            return (self.pool_tokens // self.spec.kv.max_model_len) * self._pages_for(self.spec.kv.max_model_len)
        return self.spec.max_num_seqs * self._pages_for(self.spec.kv.max_model_len)

    @property
    def footprint(self) -> int:
        """Pages of the weights and of the KV segment."""
        return self.weight_pages + self.kv_pages

    @property
    def segments(self) -> tuple[SegmentPages, ...]:
        """The file-backed weights, then the anonymous KV cache."""
        return (("weights", 0, self.weight_pages, True), ("kv_cache", self.weight_pages, self.kv_pages, False))

    # ------------------------------------------------------------------ the loop

    def chunks(self, size: int = CHUNK) -> Iterator[Chunk]:
        """The stream, ``size`` accesses at a time (the last chunk shorter)."""
        return rechunk(self._steps({}), size)

    def stats(self) -> dict[str, Any]:
        """Serving statistics of the whole run (one pass over the stream's decisions)."""
        out: dict[str, Any] = {}
        for _ in self._steps(out):
            pass
        return out

    def _steps(self, stats: dict[str, Any]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        gen = np.random.default_rng(self.seed)
        mu_p = np.log(self.spec.prompt_len.mean) - self.spec.prompt_len.sigma**2 / 2
        mu_o = np.log(self.spec.output_len.mean) - self.spec.output_len.sigma**2 / 2
        limit = self.spec.kv.max_model_len
        waiting: deque[_Seq] = deque()
        running: list[_Seq] = []
        free_blocks = list(range(self.kv_pages // self.pages_per_block))[::-1] if self.spec.kv.manager == "paged" else []
        slots = self.pool_tokens // limit if self.spec.kv.manager == "contiguous" else 0
        free_slots = list(range(slots))[::-1]
        free_pages: list[int] = []  # os_demand: recycled virtual KV pages
        next_page = 0
        weights = np.arange(self.weight_pages, dtype=np.int64)
        kv0 = self.weight_pages
        ppb, tpb = self.pages_per_block, self.spec.kv.block_tokens
        slot_pages = self._pages_for(limit)
        preemptions = tokens = finished = rid = 0
        util_sum = frag_sum = 0.0
        kvb = self.kv_bytes_per_token
        heap = make_heap(self.pool_bytes, self.spec.kv.heap, round=self.page_size) if self.spec.kv.heap is not None else None

        def pages_of(seq: _Seq, tokens_: int) -> np.ndarray:
            """KV pages holding the first ``tokens_`` tokens of ``seq``, in table order."""
            used = self._pages_for(tokens_)
            if self.spec.kv.manager == "paged":
                full, part = divmod(tokens_, tpb)
                parts = [kv0 + b * ppb + np.arange(ppb) for b in seq.blocks[:full]]
                if part:
                    parts.append(kv0 + seq.blocks[full] * ppb + np.arange(self._pages_for(part)))
                return np.concatenate(parts) if parts else np.empty(0, np.int64)
            if heap is not None:
                return kv0 + np.arange(seq.blocks[0] // self.page_size, (seq.blocks[0] + tokens_ * kvb - 1) // self.page_size + 1)
            if self.spec.kv.manager == "contiguous":
                return kv0 + seq.blocks[0] * slot_pages + np.arange(used)
            return kv0 + np.array(seq.blocks[:used], dtype=np.int64)

        def grow(seq: _Seq, tokens_: int) -> bool:
            """Make room for ``tokens_`` tokens; False if the pool has no block left."""
            nonlocal next_page
            if self.spec.kv.manager == "paged":
                while len(seq.blocks) * tpb < tokens_:
                    if not free_blocks:
                        return False
                    seq.blocks.append(free_blocks.pop())
            elif self.spec.kv.manager == "os_demand":
                while len(seq.blocks) < self._pages_for(tokens_):
                    if free_pages:
                        seq.blocks.append(free_pages.pop())
                    else:
                        seq.blocks.append(next_page)
                        next_page += 1
            return True

        def release(seq: _Seq) -> None:
            if self.spec.kv.manager == "paged":
                free_blocks.extend(reversed(seq.blocks))
            elif heap is not None:
                heap.free(seq.blocks[0])
            elif self.spec.kv.manager == "contiguous":
                free_slots.append(seq.blocks[0])
            else:
                free_pages.extend(reversed(seq.blocks))
            seq.blocks = []

        for _ in range(self.spec.steps):
            for _ in range(gen.poisson(self.spec.rate_per_step)):
                prompt = int(np.clip(round(gen.lognormal(mu_p, self.spec.prompt_len.sigma)), 1, limit - 1))
                output = int(np.clip(round(gen.lognormal(mu_o, self.spec.output_len.sigma)), 1, limit - prompt))
                waiting.append(_Seq(rid, prompt, output))
                rid += 1
            step_p: list[np.ndarray] = [weights]
            step_w: list[np.ndarray] = [np.zeros(len(weights), np.uint8)]
            # admit waiting requests, first come first served (preempted ones are at the front)
            while waiting and len(running) < self.spec.max_num_seqs:
                seq = waiting[0]
                if heap is not None:
                    addr = heap.alloc((seq.prompt + seq.output) * kvb)
                    if addr is None:
                        break
                    seq.blocks = [addr]
                elif self.spec.kv.manager == "contiguous":
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
                if self.spec.kv.manager == "paged"
                else s.prompt + s.output
                if heap is not None
                else limit
                if self.spec.kv.manager == "contiguous"
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
            manager=self.spec.kv.manager,
            steps=self.spec.steps,
            requests=rid,
            finished=finished,
            tokens_served=tokens,
            preemptions=preemptions,
            kv_utilization=round(util_sum / self.spec.steps, 6),
            kv_bytes_per_token=self.kv_bytes_per_token,
        )
        if heap is not None:
            st = heap.stats()
            stats.update(
                heap=st.policy,
                mean_external_fragmentation=round(frag_sum / self.spec.steps, 6),
                reserved_minus_live=st.reserved_minus_live,
            )
