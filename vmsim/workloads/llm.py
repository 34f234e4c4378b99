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
  With ``heap`` set to an allocator policy (first_fit, next_fit, best_fit, worst_fit, buddy, caching),
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
from functools import cached_property
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from vmsim.alloc.heap import make_heap
from vmsim.errors import VmsimError
from vmsim.hw.access import CHUNK, Chunk, rechunk
from vmsim.kernel.config import SegmentPages
from vmsim.spec import Model
from vmsim.units import Duration, Size
from vmsim.workloads.llm_presets import MODELS, kv_bytes_per_token


class LLMModelSpec(Model):
    """The served model: KV bytes per token = 2 x n_layers x n_kv_heads x head_dim x dtype_bytes."""

    n_layers: int = Field(4, ge=1, le=1000, description="transformer layers")
    n_kv_heads: int = Field(2, ge=1, le=1000, description="key/value heads per layer")
    head_dim: int = Field(64, ge=1, le=100_000, description="elements per head")
    dtype_bytes: int = Field(2, ge=1, le=16, description="bytes per KV element")
    weight_bytes: Size = Field(
        4 << 20, ge=0, le=1 << 50, description="size of the weights (file-backed), all read every decode step"
    )
    params: float | None = Field(
        None, gt=0, le=1e14, description="parameters, for the serving roofline's FLOPs; default: weight_bytes / dtype_bytes"
    )
    context: int | None = Field(None, ge=2, description="the model's context length (default max_model_len)")

    @property
    def kv_bytes_per_token(self) -> int:
        """2 x layers x KV heads x head size x dtype bytes (keys and values)."""
        return kv_bytes_per_token(self.n_layers, self.n_kv_heads, self.head_dim, self.dtype_bytes)

    @property
    def parameters(self) -> float:
        """The parameter count (given, or weight_bytes / dtype_bytes)."""
        return self.params if self.params is not None else self.weight_bytes / self.dtype_bytes

    @classmethod
    def preset(cls, name: str) -> LLMModelSpec:
        """A model of :data:`vmsim.workloads.llm_presets.MODELS` as a shape."""
        m = MODELS[name]
        same = ("n_layers", "n_kv_heads", "head_dim", "dtype_bytes", "weight_bytes", "params")
        return cls(**{f: getattr(m, f) for f in same}, context=m.max_model_len)


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
    max_model_len: int | None = Field(
        None,
        ge=2,
        le=1 << 24,
        description="longest sequence in tokens (prompt plus output); default: the model's context, or 1024",
    )
    heap: Literal["first_fit", "next_fit", "best_fit", "worst_fit", "buddy", "caching"] | None = Field(
        None,
        description="contiguous only: place each sequence's exact-length buffer with this allocator "
        "(on a GPU: the reservations, buddy by default, as the vLLM paper's Orca baselines)",
    )
    reserve: Literal["max", "pow2", "oracle"] = Field(
        "max",
        description="contiguous on a GPU: reserve max_model_len, the final length rounded up to a power of two, "
        "or exactly the final length (the vLLM paper's three Orca variants)",
    )
    preemption: Literal["recompute", "swap"] = Field(
        "recompute", description="paged on a GPU: preempted requests are prefilled again, or swapped to host memory"
    )
    swap_space: Size = Field(4 << 30, ge=0, le=1 << 50, description="host memory for swapped KV blocks (vLLM's default 4 GiB)")
    prefix_caching: bool = Field(False, description="paged on a GPU: keep full blocks by content and reuse them")
    gpu_memory_utilization: float = Field(
        0.9, gt=0, le=1, description="on a GPU: the share of device memory for weights and KV pool (vLLM's default 0.9)"
    )

    @model_validator(mode="after")
    def _heap_needs_contiguous(self) -> KVSpec:
        if self.heap is not None and self.manager != "contiguous":
            raise ValueError("heap places contiguous KV buffers: it needs manager contiguous")
        if self.reserve != "max" and self.manager != "contiguous":
            raise ValueError("reserve sizes contiguous reservations: it needs manager contiguous")
        if self.manager != "paged":
            for name in ("preemption", "prefix_caching"):
                if getattr(self, name) != KVSpec.model_fields[name].default:
                    raise ValueError(f"{name} applies to paged blocks: it needs manager paged")
        return self


class LengthSpec(Model):
    """A lognormal length in tokens, clipped to the model's maximum length."""

    mean: float = Field(ge=1, description="mean length in tokens")
    sigma: float = Field(0.5, ge=0, description="lognormal sigma of the length (0: every length is the mean)")


#: Most requests one GPU serving run generates (rate x duration): they are drawn up front.
MAX_REQUESTS = 10_000_000


class SamplingSpec(Model):
    """Sequences per request that share its prompt's KV blocks (on a GPU, paged)."""

    n: int = Field(1, ge=1, le=64, description="parallel samples per request")
    beam_width: int = Field(1, ge=1, le=64, description="beams per request (beam search)")

    @model_validator(mode="after")
    def _one(self) -> SamplingSpec:
        if self.n > 1 and self.beam_width > 1:
            raise ValueError("give sampling.n or sampling.beam_width, not both")
        return self

    @property
    def width(self) -> int:
        """Sequences per request."""
        return self.n * self.beam_width


class PrefixSpec(Model):
    """A shared system prompt at the start of every request (on a GPU)."""

    tokens: int = Field(0, ge=0, le=1 << 20, description="tokens of the shared prefix (0: none)")
    count: int = Field(1, ge=1, le=1 << 20, description="distinct prefixes; each request starts with one, drawn uniformly")


class LLMInferSpec(Model):
    """LLM serving: decode step by decode step on the CPU's pager, or on a GPU (``machine.gpu``)
    with vLLM's scheduler, a roofline clock and real models (docs/llm.md)."""

    kind: Literal["llm_infer"] = Field(description="LLM inference serving")
    model: LLMModelSpec | str = Field(
        LLMModelSpec(), description=f"a model by name ({', '.join(MODELS)}; docs/llm.md) or its shape and weight size"
    )
    kv: KVSpec = Field(KVSpec(), description="the KV-cache manager and pool")
    rate_per_step: float = Field(0.2, ge=0, le=1000, description="Poisson arrivals per decode step (at most 1,000)")
    prompt_len: LengthSpec = Field(LengthSpec(mean=200), description="prompt length of a request, in tokens")
    output_len: LengthSpec = Field(LengthSpec(mean=100), description="output length of a request, in tokens")
    max_num_seqs: int | None = Field(
        None, ge=1, le=1 << 16, description="most sequences running at once; default 64, on a GPU 256 (vLLM's)"
    )
    steps: int = Field(500, ge=1, description="decode steps to simulate (without a GPU)")
    rate: float = Field(1.0, ge=0, le=1e6, description="on a GPU: Poisson arrivals per second")
    duration: Duration = Field(
        60 * 10**9, gt=0, le=86_400 * 10**9, description="on a GPU: simulated serving time (e.g. 10min; at most a day, 86400s)"
    )
    lengths: Literal["sharegpt", "alpaca"] | None = Field(
        None,
        description="on a GPU: prompt and output lengths like these data sets' (docs/llm.md), instead of prompt_len/output_len",
    )
    requests_file: str | None = Field(
        None, description="on a GPU: a CSV of arrival_s,prompt_tokens,output_tokens rows instead of Poisson arrivals"
    )
    sampling: SamplingSpec = Field(SamplingSpec(), description="on a GPU: parallel samples or beams sharing the prompt")
    prefix: PrefixSpec = Field(PrefixSpec(), description="on a GPU: a shared system prompt")
    efficiency: float = Field(
        1.0,
        gt=0,
        le=1,
        description="on a GPU: the share of peak memory bandwidth and FLOP/s the kernels reach (1: the ideal roofline)",
    )
    max_num_batched_tokens: int | None = Field(
        None,
        ge=1,
        le=1 << 24,
        description="on a GPU: most prompt tokens prefilled per iteration; default max(max_model_len, 2048)",
    )

    @field_validator("model")
    @classmethod
    def _model(cls, v: LLMModelSpec | str) -> LLMModelSpec | str:
        if isinstance(v, str) and v not in MODELS:
            raise ValueError(f"unknown model {v!r}; the presets: {', '.join(MODELS)}")
        return v

    @cached_property
    def shape(self) -> LLMModelSpec:
        """The model's shape (a preset's, or the one given), made once: the decode loop asks often."""
        return LLMModelSpec.preset(self.model) if isinstance(self.model, str) else self.model

    @property
    def max_len(self) -> int:
        """Longest sequence: kv.max_model_len, else the model's context, else 1024."""
        return self.kv.max_model_len or self.shape.context or 1024

    def seqs(self, gpu: bool) -> int:
        """The most sequences running at once."""
        return self.max_num_seqs or (256 if gpu else 64)

    #: Fields only the GPU serving model reads, and those only the CPU decode loop reads.
    GPU_ONLY: ClassVar[tuple[str, ...]] = (
        "rate",
        "duration",
        "lengths",
        "requests_file",
        "sampling",
        "prefix",
        "efficiency",
        "max_num_batched_tokens",
    )
    CPU_ONLY: ClassVar[tuple[str, ...]] = ("rate_per_step", "steps")

    def check_mode(self, gpu: bool) -> None:
        """Refuse a field the chosen mode (GPU serving or the CPU decode loop) would ignore: one
        not at its default (a scenario passed through a sweep has every field set)."""
        for name in self.CPU_ONLY if gpu else self.GPU_ONLY:
            if changed(self, name):
                where = "machine.gpu's serving model" if gpu else "the CPU decode loop (no machine.gpu)"
                other = "without machine.gpu" if gpu else "with machine.gpu"
                raise VmsimError(f"{name} does not apply to {where}; it applies {other}", field=name)
        kv_gpu = ("reserve", "preemption", "swap_space", "prefix_caching", "gpu_memory_utilization")
        for name in () if gpu else kv_gpu:
            if changed(self.kv, name):
                raise VmsimError(f"kv.{name} applies with machine.gpu (the GPU serving model)", field=f"kv.{name}")
        if gpu and changed(self.kv, "pool_fraction"):
            raise VmsimError(
                "kv.pool_fraction applies without machine.gpu; on a GPU use kv.gpu_memory_utilization", field="kv.pool_fraction"
            )
        if self.requests_file is not None and changed(self, "prefix"):
            raise VmsimError("prefix applies to generated arrivals; a requests_file gives its own prompts", field="prefix")
        if self.requests_file is None and gpu and self.rate * self.duration * 1e-9 > MAX_REQUESTS:
            raise VmsimError(
                f"rate x duration is {self.rate * self.duration * 1e-9:,.0f} requests; one run serves at most {MAX_REQUESTS:,}",
                field="rate",
            )
        prompt = self.prefix.tokens + 1
        if prompt >= self.max_len:
            raise VmsimError(
                f"prefix.tokens ({self.prefix.tokens}) leaves no room under max_model_len ({self.max_len})", field="prefix.tokens"
            )


def changed(model: Model, name: str) -> bool:
    """Whether ``model``'s field ``name`` differs from its default."""
    return bool(getattr(model, name) != type(model).model_fields[name].get_default(call_default_factory=True))


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
        if kv.manager == "contiguous" and kv.heap is None and self.pool_tokens < self.spec.max_len:
            raise VmsimError(
                f"llm_infer: the KV pool ({self.pool_bytes:,} bytes) cannot reserve one sequence of max_model_len tokens"
            )

    # ------------------------------------------------------------------ sizes

    @property
    def kv_bytes_per_token(self) -> int:
        """2 x layers x KV heads x head size x dtype bytes (keys and values)."""
        return self.spec.shape.kv_bytes_per_token

    @property
    def pool_tokens(self) -> int:
        """Tokens of KV the pool holds."""
        return self.pool_bytes // self.kv_bytes_per_token

    @property
    def weight_pages(self) -> int:
        """Pages of the weights segment."""
        return -(-self.spec.shape.weight_bytes // self.page_size)

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
            return (self.pool_tokens // self.spec.max_len) * self._pages_for(self.spec.max_len)
        return self.spec.seqs(False) * self._pages_for(self.spec.max_len)

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
        limit = self.spec.max_len
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
            while waiting and len(running) < self.spec.seqs(False):
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
