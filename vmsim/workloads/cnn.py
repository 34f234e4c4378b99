"""``cnn_train``: the page references of training a CNN, one iteration after another, lazily.

Six contiguous segments from page 0 (``weights``, ``gradients``, ``optimizer_state``,
``activations``, ``input``, and the file-backed ``data``), each a flat buffer with its tensors
packed back to back in layer order. One iteration streams the batch in, runs forward, backward
(with optional activation checkpointing) and the optimizer step; docs/workloads.md ("cnn_train in
detail") gives the layout, the order of references, the data set and the simplifications. The
preset models are in :mod:`vmsim.workloads.zoo`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise
from typing import Any, Literal, NamedTuple

import numpy as np
from pydantic import Field, model_validator

from vmsim.hw.access import CHUNK, Chunk, rechunk
from vmsim.kernel.config import SegmentPages
from vmsim.spec import Model
from vmsim.units import Size
from vmsim.workloads.zoo import SAMPLE_BYTES, Layer, preset_layers

#: Bytes per element of (W and G, activations, fp32 master copy) for each dtype.
_WIDTH = {"fp32": (4, 4, 0), "amp": (2, 2, 4), "int8": (1, 1, 4)}
#: fp32 moments per parameter for each optimizer.
_MOMENTS = {"sgd": 0, "momentum": 1, "adam": 2}

#: A run of references: (first_page, n_pages, write).
Run = tuple[int, int, int]


class _Plan(NamedTuple):
    """Page ranges of every tensor, as (first_page, n_pages) arrays indexed by layer (0-based)."""

    segments: tuple[SegmentPages, ...]
    w: np.ndarray
    g: np.ndarray
    master: np.ndarray
    moments: tuple[np.ndarray, ...]
    acts: np.ndarray  # row i = A(i) for i = 1..n; row 0 unused (A(0) is the staging buffer)
    kept: tuple[int, ...]  # checkpoint boundaries 0 = c0 < c1 < ... < cm = n
    act_bytes: int
    inputs: tuple[tuple[int, int, int], ...]  # per staging buffer: (first_page, n_pages, first byte)
    input_first: int  # first page of the input segment
    data_first: int  # first page of the data segment


class CNNLayerSpec(Model):
    """One explicit layer of a CNN, in fp32 sizes (``dtype`` rescales them)."""

    name: str = Field(description="the layer's name")
    param_bytes: Size = Field(ge=0, description="fp32 bytes of the layer's parameters")
    act_bytes_per_sample: Size = Field(ge=0, description="fp32 bytes of the activations it keeps per sample")


class CNNModelSpec(Model):
    """A preset (toy, resnet18, resnet50) or explicit layers, not both."""

    preset: Literal["toy", "resnet18", "resnet50"] | None = Field(None, description="a built-in model")
    layers: list[CNNLayerSpec] | None = Field(None, min_length=1, description="explicit layers, first to last")

    @model_validator(mode="before")
    @classmethod
    def _name_only(cls, v: Any) -> Any:
        return {"preset": v} if isinstance(v, str) else v

    @model_validator(mode="after")
    def _one(self) -> CNNModelSpec:
        if (self.preset is None) == (self.layers is None):
            raise ValueError("give either preset (toy, resnet18, resnet50) or layers")
        return self


class CNNInputSpec(Model):
    """The training data: sample size, data set size and order, staging buffers."""

    sample_bytes: Size | None = Field(None, gt=0, description="default: the preset's input size")
    dataset_samples: int = Field(0, ge=0, description="0: an endless stream, every batch is new data")
    shuffle: bool = Field(True, description="with a finite data set: a new seeded order each epoch; false: file order")
    staging_buffers: int = Field(1, ge=1, description="input buffers of batch_size samples, used in turn")


class CNNTrainSpec(Model):
    """CNN training: stream a batch in, forward, backward, optimizer step, every iteration."""

    kind: Literal["cnn_train"] = Field(description="CNN training")
    model: CNNModelSpec = Field(CNNModelSpec(preset="toy"), description="a preset name or explicit layers")
    batch_size: int = Field(1, ge=1, description="samples per iteration")
    iterations: int = Field(10, ge=1, description="training iterations to simulate")
    dtype: Literal["fp32", "amp", "fp16", "int8"] = Field(
        "fp32", description="precision of weights, gradients and activations (fp16 is the same as amp)"
    )
    optimizer: Literal["sgd", "momentum", "adam"] = Field(
        "adam", description="optimizer state per parameter: none (sgd), momentum, or two moments (adam)"
    )
    checkpoint_every: int = Field(
        0, ge=0, description="k > 1: keep every k-th layer's activations and recompute the rest in backward; 0: keep all"
    )
    input: CNNInputSpec = Field(CNNInputSpec(), description="the input samples and data set")

    @model_validator(mode="after")
    def _sample_size_known(self) -> CNNTrainSpec:
        if self.model.layers is not None and self.input.sample_bytes is None:
            raise ValueError("input.sample_bytes is required with explicit layers")
        return self


@dataclass(frozen=True)
class CNNTrain:
    """Training iterations of the spec's CNN as page references (see the module doc)."""

    spec: CNNTrainSpec
    seed: int = 0
    page_size: int = 4096

    @property
    def dtype(self) -> str:
        """The precision, fp16 read as amp (the same widths)."""
        return "amp" if self.spec.dtype == "fp16" else self.spec.dtype

    # ----- sizes -----

    @cached_property
    def layers(self) -> tuple[Layer, ...]:
        """The model's layers, first to last (explicit layers' fp32 bytes rounded up to elements)."""
        model = self.spec.model
        if model.preset is not None:
            return preset_layers(model.preset)
        return tuple(Layer(x.name, -(-x.param_bytes // 4), -(-x.act_bytes_per_sample // 4)) for x in model.layers or ())

    @property
    def sample(self) -> int:
        """Bytes of one input sample (the preset's default unless ``sample_bytes`` is given)."""
        given = self.spec.input.sample_bytes
        if given is not None:
            return given
        assert self.spec.model.preset is not None  # the spec requires sample_bytes with explicit layers
        return SAMPLE_BYTES[self.spec.model.preset]

    @property
    def params(self) -> int:
        """Parameters of the model."""
        return sum(layer.params for layer in self.layers)

    @property
    def model_state_bytes(self) -> int:
        """Bytes of W, G and optimizer state (16 per parameter for fp32 or amp Adam)."""
        wg, _, master = _WIDTH[self.dtype]
        return self.params * (2 * wg + master + 4 * _MOMENTS[self.spec.optimizer])

    @property
    def activation_bytes(self) -> int:
        """Peak bytes of saved activations in an iteration (the whole batch, input excluded)."""
        return self._plan.act_bytes

    @property
    def data_pages_per_iteration(self) -> int:
        """Data pages one batch reads: with an endless stream, all new each iteration."""
        return self.spec.batch_size * -(-self.sample // self.page_size)

    @property
    def segments(self) -> tuple[SegmentPages, ...]:
        """(name, first_page, n_pages, file_backed) of each segment, contiguous from page 0."""
        return self._plan.segments

    @property
    def footprint(self) -> int:
        """Distinct pages one iteration can reference: every segment but ``data`` plus one batch's
        data pages (the whole run touches ``virtual_pages``). With one staging buffer, frames =
        footprint make every iteration after the first fault only on its new data pages under LRU
        and OPT (LRU evicts the previous batch's data pages, read first and never again). With
        two or more, LRU also refaults the idle staging buffer."""
        return sum(n for name, _, n, _ in self.segments if name != "data") + self.data_pages_per_iteration

    @property
    def virtual_pages(self) -> int:
        """Distinct pages the whole run can reference (all segments)."""
        return sum(n for _, _, n, _ in self.segments)

    # ----- layout -----

    @cached_property
    def _plan(self) -> _Plan:
        """Where every tensor lives (per-layer tables only: O(layers) memory)."""
        ps = self.page_size
        layers = self.layers
        n = len(layers)
        wg, ab, master_w = _WIDTH[self.dtype]
        params = np.array([layer.params for layer in layers], dtype=np.int64)
        segs: list[SegmentPages] = []
        base = 0

        def pack(sizes: np.ndarray, base: int, offset: int = 0) -> np.ndarray:
            """(first_page, n_pages) of tensors of ``sizes`` bytes packed from byte ``offset``."""
            ends = offset + np.cumsum(sizes)
            starts = ends - sizes
            first = starts // ps
            count = np.where(sizes > 0, (ends - 1) // ps - first + 1, 0)
            return np.stack([base + first, count], axis=1)

        def add(name: str, nbytes: int, file_backed: bool = False) -> int:
            nonlocal base
            pages = -(-nbytes // ps)
            segs.append((name, base, pages, file_backed))
            first = base
            base += pages
            return first

        w = pack(params * wg, add("weights", int(params.sum()) * wg))
        g = pack(params * wg, add("gradients", int(params.sum()) * wg))
        # optimizer state, per layer: [master] m [v]
        nstate = (1 if master_w else 0) + _MOMENTS[self.spec.optimizer]
        state_base = add("optimizer_state", int(params.sum()) * 4 * nstate)
        per = np.repeat(params * 4, nstate)  # layer-major: layer 0's tensors, then layer 1's ...
        state = pack(per, state_base).reshape(n, nstate, 2) if nstate else np.zeros((n, 0, 2), np.int64)
        master = state[:, 0] if master_w else np.zeros((n, 2), np.int64)
        moments = tuple(state[:, j] for j in range(1 if master_w else 0, nstate))

        # activations: kept tensors, then the recompute region
        act = np.array([0] + [layer.act_elems for layer in layers], dtype=np.int64) * ab * self.spec.batch_size
        k = self.spec.checkpoint_every
        kept = sorted({i for i in range(k, n + 1, k)} | {n}) if k > 1 else list(range(1, n + 1))
        bounds = (0, *kept)
        keep = np.zeros(n + 1, dtype=bool)
        keep[list(kept)] = True
        kept_bytes = int(act[keep].sum())
        region = max((int(act[a + 1 : b].sum()) for a, b in pairwise(bounds)), default=0)
        act_base = add("activations", kept_bytes + region)
        acts = np.zeros((n + 1, 2), dtype=np.int64)
        kept_sizes = np.where(keep, act, 0)
        acts[keep] = pack(kept_sizes, act_base)[keep]
        for a, b in pairwise(bounds):
            if b - a > 1:
                sizes = np.where((np.arange(n + 1) > a) & (np.arange(n + 1) < b), act, 0)
                placed = pack(sizes, act_base, kept_bytes)
                acts[a + 1 : b] = placed[a + 1 : b]

        batch_bytes = self.spec.batch_size * self.sample
        in_first = add("input", batch_bytes * self.spec.input.staging_buffers)
        inputs = tuple(
            (in_first + (s * batch_bytes) // ps, ((s + 1) * batch_bytes - 1) // ps - (s * batch_bytes) // ps + 1, s * batch_bytes)
            for s in range(self.spec.input.staging_buffers)
        )
        samples = self.spec.input.dataset_samples or self.spec.iterations * self.spec.batch_size
        data_first = add("data", samples * -(-self.sample // ps) * ps, file_backed=True)
        return _Plan(tuple(segs), w, g, master, moments, acts, bounds, kept_bytes + region, inputs, in_first, data_first)

    # ----- the stream -----

    def chunks(self, size: int = CHUNK) -> Iterator[Chunk]:
        """The whole stream, ``size`` accesses at a time (the last chunk shorter), made as it is
        consumed; the same seed gives the same stream."""
        pieces = ((np.arange(first, first + n, dtype=np.int64), np.full(n, w, np.uint8)) for first, n, w in self._runs())
        return rechunk(pieces, size)

    def _runs(self) -> Iterator[Run]:
        """Every iteration's references as runs of consecutive pages."""
        for t in range(self.spec.iterations):
            yield from self.iteration_runs(t)

    def iteration_runs(self, t: int) -> Iterator[Run]:
        """Iteration ``t``'s references (0-based) as (first_page, n_pages, write) runs, in order."""
        plan = self._plan
        n = len(self.layers)
        in_first, in_pages, in_byte = plan.inputs[t % self.spec.input.staging_buffers]
        a_first = plan.acts[:, 0].tolist()
        a_n = plan.acts[:, 1].tolist()
        a_first[0], a_n[0] = in_first, in_pages
        w = plan.w.tolist()
        g = plan.g.tolist()

        yield from self._sweep(t, in_byte)

        def step(i: int) -> Iterator[Run]:  # forward of layer i (1-based)
            yield a_first[i - 1], a_n[i - 1], 0
            yield w[i - 1][0], w[i - 1][1], 0
            yield a_first[i], a_n[i], 1

        for i in range(1, n + 1):
            yield from step(i)
        bounds = plan.kept
        for a, b in reversed(list(pairwise(bounds))):
            if self.spec.checkpoint_every > 1:
                for i in range(a + 1, b):
                    yield from step(i)
            for i in range(b, a, -1):
                yield a_first[i], a_n[i], 0
                yield a_first[i - 1], a_n[i - 1], 0
                yield w[i - 1][0], w[i - 1][1], 0
                yield g[i - 1][0], g[i - 1][1], 1

        master = plan.master.tolist()
        moments = [m.tolist() for m in plan.moments]
        has_master = _WIDTH[self.dtype][2] > 0
        for j in range(n):
            upd = master[j] if has_master else w[j]
            yield upd[0], upd[1], 0
            yield g[j][0], g[j][1], 0
            for m in moments:
                yield m[j][0], m[j][1], 0
            yield upd[0], upd[1], 1
            for m in moments:
                yield m[j][0], m[j][1], 1
            if has_master:
                yield w[j][0], w[j][1], 1

    def _sweep(self, t: int, in_byte: int) -> Iterator[Run]:
        """Step 1: per sample, read its data pages, then write its bytes into the staging buffer."""
        ps = self.page_size
        sb = self.sample
        spp = -(-sb // ps)  # data pages per sample (samples are page-aligned in the file)
        data_first = self._plan.data_first
        in_base = self._plan.input_first * ps + in_byte
        for j, sample in enumerate(self._batch_samples(t)):
            yield data_first + sample * spp, spp, 0
            lo = in_base + j * sb
            yield lo // ps, (lo + sb - 1) // ps - lo // ps + 1, 1

    def _batch_samples(self, t: int) -> list[int]:
        """The samples of iteration t's batch (see the module doc: stream, or epochs of a data set)."""
        b = self.spec.batch_size
        gs = range(t * b, (t + 1) * b)
        nsamples = self.spec.input.dataset_samples
        if not nsamples:
            return list(gs)
        out: list[int] = []
        for g in gs:
            epoch, pos = divmod(g, nsamples)
            out.append(int(self._epoch_order(epoch)[pos]) if self.spec.input.shuffle else pos)
        return out

    def _epoch_order(self, epoch: int) -> np.ndarray:
        """Epoch ``epoch``'s permutation of the samples (the last one used is cached): a table of
        ``dataset_samples`` entries, the stream's only state that grows with the data set."""
        cache = self.__dict__.get("_order_cache")
        if cache is None or cache[0] != epoch:
            cache = (epoch, np.random.default_rng([self.seed, epoch]).permutation(self.spec.input.dataset_samples))
            self.__dict__["_order_cache"] = cache  # frozen dataclass: a cache outside the fields
        return cache[1]
