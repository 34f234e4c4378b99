"""``cnn_train``: the page references of training a CNN, one iteration after another, lazily.

The process's virtual space holds six contiguous segments, in this order from page 0:

- ``weights``: the working copy W of every layer's parameters (fp32, fp16 with ``amp``, 1 byte
  with ``int8``);
- ``gradients``: G, one element per parameter, in the same width as W;
- ``optimizer_state``: per layer the fp32 master copy (``amp`` and ``int8`` only), then momentum
  m (``momentum``, ``adam``), then v (``adam``);
- ``activations``: the saved activations A(1..n) of one batch (see checkpointing below);
- ``input``: ``staging_buffers`` buffers of ``batch_size * sample_bytes`` bytes each: A(0);
- ``data``: the data set, file-backed: every sample stored on whole pages of its own (padded).

Each segment is one flat buffer with its tensors packed back to back in layer order (as in a flat
parameter buffer), so a page may hold the end of one tensor and the start of the next. Bytes per
parameter follow ai-workloads.md section 1: W + G + state = 8 (sgd), 12 (momentum), 16 (adam) for
``fp32``, and the same for ``amp`` (2 + 2 for the fp16 W and G, 4 for the fp32 master, 4 per
moment). ``int8`` is modelled like ``amp`` with 1-byte W and G (6, 10, 14 bytes per parameter).
Activations take 4, 2 and 1 bytes an element for ``fp32``, ``amp`` and ``int8``.

One iteration (section 1's "One iteration" list). Reading a tensor references each of its pages
once, in order; writing it references each page once with the write flag.

1. Sweep: for each sample of the batch, read its data pages, then write its bytes into the
   iteration's staging buffer (the collate copy). The staging buffer is ``t % staging_buffers``.
2. Forward, i = 1..n: read A(i-1), read W(i), write A(i).
3. Backward, i = n..1: read A(i), read A(i-1), read W(i), write G(i); A(i) is then free: its pages
   are not referenced again until the next forward writes them.
4. Optimizer, layer by layer: read W (the fp32 master under ``amp``/``int8``), G, m, v; write W (or
   the master), m, v; under ``amp``/``int8`` then write the low-precision W copy.

Checkpointing (``checkpoint_every = k > 1``): the forward keeps A(i) only for i a multiple of k
and for i = n (A(0) is the input). The layers between two kept ones form a segment whose
activations live in one shared recompute region (sized for the largest segment) at the same
offsets in forward and in recompute. The backward, segment by segment from the last, first
re-runs that segment's forward (read A(i-1), W(i), write A(i) for its non-kept layers), then does
the backward steps for the segment's layers. ``activation_bytes`` is then the kept tensors plus the
region: the peak, because a segment's activations only exist between its recompute and its
backward.

Data: with ``dataset_samples = 0`` the data is an endless stream (sample g of the run is the g-th
sample of the file), so every batch reads ``data_pages_per_iteration`` pages never read before:
the doc's "newly streamed input pages". With ``dataset_samples = N`` the file holds N samples,
visited once per epoch in file order, or with ``shuffle`` in a new permutation per epoch drawn
from ``seed`` (epochs run on without a break; the last batch of an epoch may end in the next).
That permutation is the stream's only randomness: the stream is otherwise the same for every
seed.

``tests/test_cnn.py`` pins the toy's faults per iteration under LRU, FIFO and OPT at 1.0, 0.9 and
0.5 times the footprint (8/672/8, 854/1336/147, 1701/1845/989; the doc's reference model gives
52/674/52, 810/1340/175, 1876/1908/868).

Modelling simplifications:

- The net is a chain: layer i reads only A(i-1). Residual shortcuts, the downsample convs' real
  input (the block input) and the residual add are not modelled; ReLU is in place.
- Activation gradients (two transient activation-sized buffers in backward), workspaces,
  BatchNorm running statistics and the loss are not modelled; gradients are written by backward
  and never zeroed (PyTorch's default ``zero_grad(set_to_none=True)``).
- The input buffer holds the raw sample bytes whatever ``dtype`` is; it is not pinned here (the
  kernel may pin the ``input`` segment).
- A "free" is only the absence of references; placing tensors through a heap allocator is not
  modelled (every tensor has a fixed place, as with LIFO frees under a best-fit allocator).

Explicit layers give fp32 sizes (4 bytes an element: ``param_bytes`` and
``act_bytes_per_sample`` are rounded up to whole elements); ``dtype`` rescales them.

Presets (layer shapes computed from the architectures; one layer per convolution with its
BatchNorm, plus the classifier; each convolution saves its output and its BatchNorm output):

- ``toy``: a CIFAR-style ResNet (He et al. 2016, section 4.2, shortcuts without parameters): a
  3x3 stem with 16 channels, then four stages of one basic block of widths 16, 32, 64, 128 (the
  last three at stride 2) and a 10-way classifier, on a 32x32 input of 8 fp32 channels
  (``sample_bytes`` 32 KiB = 8 pages: the doc's 8 new data pages per iteration). 10 layers,
  298,346 parameters (292 pages of fp32 W), 155,658 saved activation elements per sample (153
  pages at batch 1). At batch 1 with the defaults (fp32, adam) the footprint is 1,336 pages,
  the doc's "1,340-page footprint" to within four pages.
- ``resnet18`` and ``resnet50``: torchvision's, 224x224 input (``sample_bytes`` 150,528: 224*224*3
  bytes), 11,689,512 and 25,557,032 parameters. ResNet-50's 53 convolutions output 11.1 M elements
  per image; keeping two tensors per convolution gives 89 MB per image in fp32 (the doc's 80-100 MB
  estimate). The max-pool output after the stem is counted with the stem.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise
from typing import Any, NamedTuple

import numpy as np

from vmsim.errors import VmsimError
from vmsim.hw.access import CHUNK, Chunk
from vmsim.workloads.embedding import whole_number

PRESETS = ("toy", "resnet18", "resnet50")
DTYPES = ("fp32", "amp", "int8")
OPTIMIZERS = ("sgd", "momentum", "adam")
SEGMENT_NAMES = ("weights", "gradients", "optimizer_state", "activations", "input", "data")

#: Bytes per element of (W and G, activations, fp32 master copy) for each dtype.
_WIDTH = {"fp32": (4, 4, 0), "amp": (2, 2, 4), "int8": (1, 1, 4)}
#: fp32 moments per parameter for each optimizer.
_MOMENTS = {"sgd": 0, "momentum": 1, "adam": 2}
#: Default sample bytes for each preset.
_SAMPLE_BYTES = {"toy": 32 * 1024, "resnet18": 224 * 224 * 3, "resnet50": 224 * 224 * 3}

#: A segment of the process's virtual space: (name, first_page, n_pages, file_backed).
Segment = tuple[str, int, int, bool]
#: A run of references: (first_page, n_pages, write).
Run = tuple[int, int, int]


class Layer(NamedTuple):
    """One layer: its parameter count and the activation elements it saves per sample."""

    name: str
    params: int
    act_elems: int


def _resnet(
    *,
    hw: int,
    in_ch: int,
    stem: tuple[int, int, int],
    widths: Sequence[int],
    blocks: Sequence[int],
    bottleneck: bool,
    maxpool: bool,
    classes: int,
    downsample: bool = True,
) -> tuple[Layer, ...]:
    """A torchvision-style ResNet as a chain of layers (see the module doc for what a layer saves).

    ``stem`` is (channels, kernel, stride). Parameters: conv weights (no bias), BatchNorm weight and
    bias, and the classifier's weight and bias. ``downsample=False`` uses parameter-free shortcuts
    (He et al.'s option A for CIFAR) instead of 1x1 convolutions.
    """
    layers: list[Layer] = []

    def conv(name: str, cin: int, cout: int, k: int, size: int) -> None:
        layers.append(Layer(name, cin * cout * k * k + 2 * cout, 2 * cout * size * size))

    ch, k, stride = stem
    size = hw // stride
    conv("conv1", in_ch, ch, k, size)
    if maxpool:
        size //= 2
        name, params, acts = layers[-1]
        layers[-1] = Layer(name, params, acts + ch * size * size)
    cin = ch
    expansion = 4 if bottleneck else 1
    for s, (width, nblocks) in enumerate(zip(widths, blocks), start=1):
        for b in range(nblocks):
            step = 2 if (b == 0 and s > 1) else 1
            out = width * expansion
            pre = f"layer{s}.{b}."
            if bottleneck:
                conv(pre + "conv1", cin, width, 1, size)
                size //= step
                conv(pre + "conv2", width, width, 3, size)
                conv(pre + "conv3", width, out, 1, size)
            else:
                size //= step
                conv(pre + "conv1", cin, width, 3, size)
                conv(pre + "conv2", width, width, 3, size)
            if downsample and (step != 1 or cin != out):
                conv(pre + "downsample", cin, out, 1, size)
            cin = out
    layers.append(Layer("fc", cin * classes + classes, classes))
    return tuple(layers)


def preset_layers(name: str) -> tuple[Layer, ...]:
    """The layers of a preset model (see the module doc)."""
    if name == "toy":
        return _resnet(
            hw=32,
            in_ch=8,
            stem=(16, 3, 1),
            widths=(16, 32, 64, 128),
            blocks=(1, 1, 1, 1),
            bottleneck=False,
            maxpool=False,
            classes=10,
            downsample=False,
        )
    if name == "resnet18":
        return _resnet(
            hw=224,
            in_ch=3,
            stem=(64, 7, 2),
            widths=(64, 128, 256, 512),
            blocks=(2, 2, 2, 2),
            bottleneck=False,
            maxpool=True,
            classes=1000,
        )
    if name == "resnet50":
        return _resnet(
            hw=224,
            in_ch=3,
            stem=(64, 7, 2),
            widths=(64, 128, 256, 512),
            blocks=(3, 4, 6, 3),
            bottleneck=True,
            maxpool=True,
            classes=1000,
        )
    raise VmsimError(f"cnn_train.model: unknown preset {name!r}; valid presets: {', '.join(PRESETS)}")


def _explicit_layers(layers: Sequence[Any]) -> tuple[Layer, ...]:
    """Layers from ``{name, param_bytes, act_bytes_per_sample}`` mappings (fp32 bytes) or Layers."""
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence) or not layers:
        raise VmsimError("cnn_train.model must be a preset name or a non-empty list of layers")
    out: list[Layer] = []
    for j, spec in enumerate(layers):
        where = f"cnn_train.model.layers[{j}]"
        if isinstance(spec, Layer):
            out.append(
                Layer(
                    str(spec.name),
                    whole_number(spec.params, where + ".params", 0),
                    whole_number(spec.act_elems, where + ".act_elems", 0),
                )
            )
            continue
        if not isinstance(spec, Mapping):
            raise VmsimError(f"{where} must be a mapping with name, param_bytes and act_bytes_per_sample")
        unknown = set(spec) - {"name", "param_bytes", "act_bytes_per_sample"}
        if unknown:
            raise VmsimError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
        for key in ("param_bytes", "act_bytes_per_sample"):
            if key not in spec:
                raise VmsimError(f"{where}.{key} is required")
        pb = whole_number(spec["param_bytes"], where + ".param_bytes", 0)
        ab = whole_number(spec["act_bytes_per_sample"], where + ".act_bytes_per_sample", 0)
        out.append(Layer(str(spec.get("name", f"layer{j + 1}")), -(-pb // 4), -(-ab // 4)))
    return tuple(out)


class _Plan(NamedTuple):
    """Page ranges of every tensor, as (first_page, n_pages) arrays indexed by layer (0-based)."""

    segments: tuple[Segment, ...]
    w: np.ndarray
    g: np.ndarray
    master: np.ndarray
    moments: tuple[np.ndarray, ...]
    acts: np.ndarray  # row i = A(i) for i = 1..n; row 0 unused (A(0) is the staging buffer)
    kept: tuple[int, ...]  # checkpoint boundaries 0 = c0 < c1 < ... < cm = n
    act_bytes: int
    inputs: tuple[tuple[int, int, int], ...]  # per staging buffer: (first_page, n_pages, first byte)


@dataclass(frozen=True)
class CNNTrain:
    """Training iterations of a CNN as page references (see the module doc).

    ``model`` is a preset name, a list of layers (``{name, param_bytes, act_bytes_per_sample}``
    mappings in fp32 bytes, or :class:`Layer` records), or the YAML form ``{preset: NAME}`` /
    ``{layers: [...]}``; it is stored as the preset name or a tuple of Layers.
    """

    model: str | Sequence[Layer | Mapping[str, Any]] | Mapping[str, Any] = "toy"
    batch_size: int = 1
    iterations: int = 10
    seed: int = 0
    dtype: str = "fp32"
    optimizer: str = "adam"
    checkpoint_every: int = 0
    page_size: int = 4096
    sample_bytes: int | None = None
    dataset_samples: int = 0
    shuffle: bool = True
    staging_buffers: int = 1

    def __post_init__(self) -> None:
        w = "cnn_train"
        set_ = object.__setattr__
        model: Any = self.model
        if isinstance(model, Mapping):
            if set(model) == {"preset"}:
                model = model["preset"]
            elif set(model) == {"layers"}:
                model = model["layers"]
            else:
                raise VmsimError(f"{w}.model must have exactly one of preset or layers, got {sorted(map(str, model))}")
        if isinstance(model, str):
            preset_layers(model)  # validates the name
        else:
            model = _explicit_layers(model)
        set_(self, "model", model)
        for name, least in (
            ("batch_size", 1),
            ("iterations", 1),
            ("seed", 0),
            ("checkpoint_every", 0),
            ("page_size", 1),
            ("dataset_samples", 0),
            ("staging_buffers", 1),
        ):
            set_(self, name, whole_number(getattr(self, name), f"{w}.{name}", least))
        if self.sample_bytes is not None:
            set_(self, "sample_bytes", whole_number(self.sample_bytes, f"{w}.sample_bytes", 1))
        elif not isinstance(self.model, str):
            raise VmsimError(f"{w}.sample_bytes is required with explicit layers")
        if self.dtype not in DTYPES:
            raise VmsimError(f"{w}.dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if self.optimizer not in OPTIMIZERS:
            raise VmsimError(f"{w}.optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if not isinstance(self.shuffle, bool):
            raise VmsimError(f"{w}.shuffle must be true or false, got {self.shuffle!r}")

    # ----- sizes -----

    @property
    def layers(self) -> tuple[Layer, ...]:
        """The model's layers, first to last."""
        return preset_layers(self.model) if isinstance(self.model, str) else tuple(self.model)  # type: ignore[arg-type]

    @property
    def sample(self) -> int:
        """Bytes of one input sample (the preset's default unless ``sample_bytes`` is given)."""
        if self.sample_bytes is not None:
            return self.sample_bytes
        assert isinstance(self.model, str)
        return _SAMPLE_BYTES[self.model]

    @property
    def params(self) -> int:
        """Parameters of the model."""
        return sum(layer.params for layer in self.layers)

    @property
    def model_state_bytes(self) -> int:
        """Bytes of W, G and optimizer state (16 per parameter for fp32 or amp Adam)."""
        wg, _, master = _WIDTH[self.dtype]
        return self.params * (2 * wg + master + 4 * _MOMENTS[self.optimizer])

    @property
    def activation_bytes(self) -> int:
        """Peak bytes of saved activations in an iteration (the whole batch, input excluded)."""
        return self._plan.act_bytes

    @property
    def data_pages_per_iteration(self) -> int:
        """Data pages one batch reads: with an endless stream, all new each iteration."""
        return self.batch_size * -(-self.sample // self.page_size)

    @property
    def segments(self) -> tuple[Segment, ...]:
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
        segs: list[Segment] = []
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
        nstate = (1 if master_w else 0) + _MOMENTS[self.optimizer]
        state_base = add("optimizer_state", int(params.sum()) * 4 * nstate)
        per = np.repeat(params * 4, nstate)  # layer-major: layer 0's tensors, then layer 1's ...
        state = pack(per, state_base).reshape(n, nstate, 2) if nstate else np.zeros((n, 0, 2), np.int64)
        master = state[:, 0] if master_w else np.zeros((n, 2), np.int64)
        moments = tuple(state[:, j] for j in range(1 if master_w else 0, nstate))

        # activations: kept tensors, then the recompute region
        act = np.array([0] + [layer.act_elems for layer in layers], dtype=np.int64) * ab * self.batch_size
        k = self.checkpoint_every
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

        batch_bytes = self.batch_size * self.sample
        in_first = add("input", batch_bytes * self.staging_buffers)
        inputs = tuple(
            (in_first + (s * batch_bytes) // ps, ((s + 1) * batch_bytes - 1) // ps - (s * batch_bytes) // ps + 1, s * batch_bytes)
            for s in range(self.staging_buffers)
        )
        samples = self.dataset_samples or self.iterations * self.batch_size
        add("data", samples * -(-self.sample // ps) * ps, file_backed=True)
        return _Plan(tuple(segs), w, g, master, moments, acts, bounds, kept_bytes + region, inputs)

    # ----- the stream -----

    def chunks(self, size: int = CHUNK) -> Iterator[Chunk]:
        """The whole stream, ``size`` accesses at a time (the last chunk shorter), made as it is
        consumed; the same seed gives the same stream."""
        size = whole_number(size, "chunk size", 1)
        pages = np.empty(size, dtype=np.int64)
        writes = np.empty(size, dtype=np.uint8)
        fill = 0
        for first, count, write in self._runs():
            while count:
                take = min(count, size - fill)
                pages[fill : fill + take] = np.arange(first, first + take, dtype=np.int64)
                writes[fill : fill + take] = write
                fill += take
                first += take
                count -= take
                if fill == size:
                    yield Chunk(pages, writes)
                    pages = np.empty(size, dtype=np.int64)
                    writes = np.empty(size, dtype=np.uint8)
                    fill = 0
        if fill:
            yield Chunk(pages[:fill], writes[:fill])

    def _runs(self) -> Iterator[Run]:
        """Every iteration's references as runs of consecutive pages."""
        for t in range(self.iterations):
            yield from self.iteration_runs(t)

    def iteration_runs(self, t: int) -> Iterator[Run]:
        """Iteration ``t``'s references (0-based) as (first_page, n_pages, write) runs, in order."""
        plan = self._plan
        n = len(self.layers)
        in_first, in_pages, in_byte = plan.inputs[t % self.staging_buffers]
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
            if self.checkpoint_every > 1:
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
        data_first = self.segments[5][1]
        in_base = self.segments[4][1] * ps + in_byte
        for j, sample in enumerate(self._batch_samples(t)):
            yield data_first + sample * spp, spp, 0
            lo = in_base + j * sb
            yield lo // ps, (lo + sb - 1) // ps - lo // ps + 1, 1

    def _batch_samples(self, t: int) -> list[int]:
        """The samples of iteration t's batch (see the module doc: stream, or epochs of a data set)."""
        b = self.batch_size
        gs = range(t * b, (t + 1) * b)
        nsamples = self.dataset_samples
        if not nsamples:
            return list(gs)
        out: list[int] = []
        for g in gs:
            epoch, pos = divmod(g, nsamples)
            out.append(int(self._epoch_order(epoch)[pos]) if self.shuffle else pos)
        return out

    def _epoch_order(self, epoch: int) -> np.ndarray:
        """Epoch ``epoch``'s permutation of the samples (the last one used is cached): a table of
        ``dataset_samples`` entries, the stream's only state that grows with the data set."""
        cache = self.__dict__.get("_order_cache")
        if cache is None or cache[0] != epoch:
            cache = (epoch, np.random.default_rng([self.seed, epoch]).permutation(self.dataset_samples))
            self.__dict__["_order_cache"] = cache  # frozen dataclass: a cache outside the fields
        return cache[1]
