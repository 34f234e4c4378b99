"""The ``cnn_train`` generator: layout, the iteration's reference order, laziness, determinism,
validation, and the qualitative results of ai-workloads.md section 1 under replay()."""

from __future__ import annotations

import math
import time
import tracemalloc
from collections.abc import Iterable

import numpy as np
import pytest
from pydantic import ValidationError

from vmsim.engine import replay
from vmsim.hw.access import Chunk
from vmsim.policies import parse_policy
from vmsim.workloads.cnn import CNNTrain, CNNTrainSpec
from vmsim.workloads.zoo import Layer

PAGE = 4096
_INPUT = ("sample_bytes", "dataset_samples", "shuffle", "staging_buffers")


def cnn(seed: int = 0, page_size: int = PAGE, **kw: object) -> CNNTrain:
    """A CNNTrain from flat keywords: the spec's fields and its input's (as in YAML, validated),
    with a list of layers as ``model``."""
    data: dict[str, object] = {k: v for k, v in kw.items() if k not in _INPUT}
    data["input"] = {k: v for k, v in kw.items() if k in _INPUT}
    if isinstance(data.get("model"), list):
        data["model"] = {"layers": data["model"]}
    return CNNTrain(CNNTrainSpec.model_validate({"kind": "cnn_train", **data}), seed, page_size)


def joined(chunks: Iterable[Chunk]) -> tuple[np.ndarray, np.ndarray]:
    cs = list(chunks)
    return np.concatenate([c.pages for c in cs]), np.concatenate([c.writes for c in cs])


def in_segment(w: CNNTrain, name: str, pages: np.ndarray) -> np.ndarray:
    (first, n) = next((f, n) for s, f, n, _ in w.segments if s == name)
    return (pages >= first) & (pages < first + n)


def faults_per_iteration(policy: str, ratio: float, k: int = 4, **kw: object) -> float:
    """(faults over k+1 iterations - faults over 1) / k, at round(ratio * footprint) frames.

    k is even because FIFO at frames = footprint alternates between two iteration kinds."""
    frames = round(ratio * cnn(**kw).footprint)
    spec = parse_policy(policy)
    one = replay(lambda: cnn(iterations=1, **kw).chunks(), spec, frames).faults
    more = replay(lambda: cnn(iterations=k + 1, **kw).chunks(), spec, frames).faults
    return (more - one) / k


# ----- sizes -----


def test_toy_matches_the_docs_toy() -> None:
    w = cnn()
    assert (w.spec.model.preset, w.spec.batch_size, w.dtype, w.spec.optimizer) == ("toy", 1, "fp32", "adam")
    assert w.params == 298_346
    assert w.footprint == 1336  # the doc: "1,340-page footprint"
    assert w.data_pages_per_iteration == 8  # the doc: "8 new data pages per iteration"


def test_resnet_presets_have_the_real_sizes() -> None:
    r18, r50 = cnn(model="resnet18"), cnn(model="resnet50")
    assert r18.params == 11_689_512
    assert r50.params == 25_557_032  # torchvision v1.5
    assert r50.model_state_bytes == 16 * 25_557_032  # 409 MB with Adam
    convs = [layer for layer in r50.layers if layer.name != "fc"]
    assert len(convs) == 53
    # each convolution saves its output and its BatchNorm output; conv1 also the max-pool output
    conv_out = (sum(layer.act_elems for layer in convs) - 64 * 56 * 56) // 2
    assert conv_out == pytest.approx(11.1e6, rel=0.01)
    assert 80e6 <= r50.activation_bytes <= 100e6  # per image, fp32 (the doc's estimate)
    assert cnn(model="resnet50", batch_size=32).activation_bytes == 32 * r50.activation_bytes
    assert r50.sample == 224 * 224 * 3


def test_segments_are_contiguous_and_only_data_is_file_backed() -> None:
    w = cnn(model="resnet18", batch_size=2, iterations=3)
    names = [s[0] for s in w.segments]
    assert names == ["weights", "gradients", "optimizer_state", "activations", "input", "data"]
    nxt = 0
    for _, first, n, _ in w.segments:
        assert first == nxt and n > 0
        nxt += n
    assert [fb for *_, fb in w.segments] == [False] * 5 + [True]
    assert w.virtual_pages == nxt
    assert w.footprint == nxt - w.segments[-1][2] + w.data_pages_per_iteration


def test_bytes_per_parameter_follow_the_doc() -> None:
    per = {
        (d, o): cnn(dtype=d, optimizer=o).model_state_bytes // cnn().params
        for d in ("fp32", "amp", "int8")
        for o in ("sgd", "momentum", "adam")
    }
    assert per[("fp32", "momentum")] == 12 and per[("fp32", "adam")] == 16
    assert per[("amp", "adam")] == 16  # 2 + 2 + 12 (fp32 master, m, v)
    assert per[("fp32", "sgd")] == per[("amp", "sgd")] == 8
    assert per[("int8", "adam")] == 14  # 1 + 1 + 12


def test_adam_footprint_exceeds_sgd_by_the_optimizer_state() -> None:
    sgd, adam = cnn(optimizer="sgd"), cnn(optimizer="adam")
    assert adam.footprint - sgd.footprint == math.ceil(8 * sgd.params / PAGE)  # m and v in fp32
    assert dict((s, n) for s, _, n, _ in sgd.segments)["optimizer_state"] == 0


@pytest.mark.parametrize("model", ["toy", "resnet50"])
def test_amp_halves_and_int8_quarters_activations(model: str) -> None:
    fp32 = cnn(model=model, batch_size=4).activation_bytes
    assert cnn(model=model, batch_size=4, dtype="amp").activation_bytes * 2 == fp32
    assert cnn(model=model, batch_size=4, dtype="int8").activation_bytes * 4 == fp32


# ----- the stream -----


def test_one_iteration_follows_the_docs_list() -> None:
    """A 2-layer model with page-sized tensors, so each run can be checked by hand."""
    layers = [
        {"name": "a", "param_bytes": 2 * PAGE, "act_bytes_per_sample": PAGE},
        {"name": "b", "param_bytes": PAGE, "act_bytes_per_sample": 3 * PAGE},
    ]
    w = cnn(model=layers, sample_bytes=PAGE, optimizer="momentum", iterations=2)
    seg = {s: (f, n) for s, f, n, _ in w.segments}
    assert seg == {
        "weights": (0, 3),
        "gradients": (3, 3),
        "optimizer_state": (6, 3),
        "activations": (9, 4),
        "input": (13, 1),
        "data": (14, 2),
    }
    w1, w2, g1, g2, m1, m2 = (0, 2), (2, 1), (3, 2), (5, 1), (6, 2), (8, 1)
    a0, a1, a2 = (13, 1), (9, 1), (10, 3)
    r, wr = 0, 1
    expected = [
        (15, 1, r),
        (*a0, wr),  # sweep: read iteration 1's data page, write the input buffer
        (*a0, r),
        (*w1, r),
        (*a1, wr),
        (*a1, r),
        (*w2, r),
        (*a2, wr),  # forward
        (*a2, r),
        (*a1, r),
        (*w2, r),
        (*g2, wr),
        (*a1, r),
        (*a0, r),
        (*w1, r),
        (*g1, wr),  # backward
        (*w1, r),
        (*g1, r),
        (*m1, r),
        (*w1, wr),
        (*m1, wr),  # optimizer, layer a
        (*w2, r),
        (*g2, r),
        (*m2, r),
        (*w2, wr),
        (*m2, wr),  # layer b
    ]
    assert list(w.iteration_runs(1)) == expected
    pages, _ = joined(w.chunks())
    assert len(pages) == 2 * sum(n for _, n, _ in expected)


def test_references_stay_in_their_segments_and_data_is_read_only_and_new() -> None:
    w = cnn(batch_size=3, iterations=4, dtype="amp")
    pages, writes = joined(w.chunks(1000))
    assert pages.dtype == np.int64 and writes.dtype == np.uint8
    assert pages.min() >= 0 and pages.max() < w.virtual_pages
    data = in_segment(w, "data", pages)
    assert not writes[data].any()
    assert len(np.unique(pages[data])) == len(pages[data]) == 4 * w.data_pages_per_iteration
    written = {s for s, *_ in w.segments if (in_segment(w, s, pages) & (writes == 1)).any()}
    assert written == {"weights", "gradients", "optimizer_state", "activations", "input"}
    assert len(np.unique(pages[~data])) == w.footprint - w.data_pages_per_iteration


def test_checkpointing_lowers_peak_activations_and_adds_weight_reads() -> None:
    plain, ck = cnn(model="resnet18", iterations=1), cnn(model="resnet18", iterations=1, checkpoint_every=4)
    a = [0] + [4 * layer.act_elems for layer in plain.layers]
    n = len(plain.layers)
    kept = [4, 8, 12, 16, 20, n]  # every 4th layer and the last; the others are recomputed
    segments = [sum(a[lo + 1 : hi]) for lo, hi in zip([0, *kept], kept)]
    assert ck.activation_bytes == sum(a[i] for i in kept) + max(segments)
    assert ck.activation_bytes < 0.7 * plain.activation_bytes == 0.7 * sum(a)
    act = {w: dict((s, n) for s, _, n, _ in w.segments)["activations"] for w in (plain, ck)}
    assert act[ck] < act[plain]
    reads = {}
    for w in (plain, ck):
        pages, writes = joined(w.chunks())
        reads[w] = int(np.count_nonzero(in_segment(w, "weights", pages) & (writes == 0)))
    recomputed = [i for i in range(1, n + 1) if i % 4 and i != n]
    extra = sum(int(ck._plan.w[i - 1, 1]) for i in recomputed)
    assert reads[ck] - reads[plain] == extra > 0


def test_same_seed_same_stream_and_seed_only_shuffles_the_data() -> None:
    kw = dict(dataset_samples=7, batch_size=2, iterations=9)
    a, b = joined(cnn(seed=3, **kw).chunks(777)), joined(cnn(seed=3, **kw).chunks(777))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    c = joined(cnn(seed=4, **kw).chunks())
    w = cnn(seed=3, **kw)
    data = in_segment(w, "data", a[0])
    assert np.array_equal(a[0][~data], c[0][~data]) and np.array_equal(a[1], c[1])
    assert not np.array_equal(a[0][data], c[0][data])
    # one epoch (7 samples) visits every sample once; the next epoch starts over
    spp = w.data_pages_per_iteration // 2
    samples = (a[0][data][::spp] - w.segments[-1][1]) // spp
    assert sorted(samples[:7].tolist()) == list(range(7))
    # no data set: an endless stream; the seed changes nothing
    s1, s2 = joined(cnn(seed=1).chunks()), joined(cnn(seed=2).chunks())
    assert np.array_equal(s1[0], s2[0])


def test_chunks_are_lazy_and_bounded() -> None:
    w = cnn(iterations=5)
    sizes = [len(c) for c in w.chunks(1000)]
    assert all(s == 1000 for s in sizes[:-1]) and 0 < sizes[-1] <= 1000
    assert sum(sizes) == sum(len(c) for c in w.chunks())
    start = time.perf_counter()
    first = next(iter(cnn(model="resnet50", batch_size=256, iterations=10**9).chunks(4096)))
    assert len(first) == 4096 and time.perf_counter() - start < 1.0

    def peak(iterations: int) -> int:
        tracemalloc.start()
        for _ in cnn(model="resnet18", iterations=iterations).chunks(4096):
            pass
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    assert peak(12) < 1.5 * peak(2) + 200_000


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"iterations": 0}, "iterations"),
        ({"model": "vgg16"}, "model"),
        ({"dtype": "fp8"}, "dtype"),
        ({"optimizer": "lion"}, "optimizer"),
        ({"checkpoint_every": -1}, "checkpoint_every"),
        ({"sample_bytes": 0}, "sample_bytes"),
        ({"staging_buffers": 0}, "staging_buffers"),
        ({"batch_size": 1.5}, "batch_size"),
        ({"model": [{"name": "x", "param_bytes": -4, "act_bytes_per_sample": 8}], "sample_bytes": 8}, "param_bytes"),
        ({"model": [{"name": "x", "param_bytes": 4}], "sample_bytes": 8}, "act_bytes_per_sample"),
        ({"model": [], "sample_bytes": 8}, "model"),
        ({"model": [{"name": "x", "param_bytes": 4, "act_bytes_per_sample": 4}]}, "sample_bytes"),
        ({"model": {"preset": "toy", "layers": []}}, "model"),
    ],
)
def test_bad_parameters_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        cnn(**kwargs)


def test_yaml_model_forms() -> None:
    assert cnn(model={"preset": "resnet18"}).params == 11_689_512
    w = cnn(model={"layers": [{"name": "x", "param_bytes": 40, "act_bytes_per_sample": 4}]}, sample_bytes=8)
    assert w.params == 10 and w.layers == (Layer("x", 10, 1),)


# ----- the doc's qualitative table (toy model, faults per iteration) -----

#: Measured with faults_per_iteration (k = 4) at round(ratio * 1336) frames. Doc: 52/674/52,
#: 810/1340/175, 1876/1908/868 (its reference model differs in size, not in shape).
TABLE = {1.0: (8, 672, 8), 0.9: (854, 1336, 147), 0.5: (1701, 1845, 989)}


@pytest.fixture(scope="module")
def measured() -> dict[float, tuple[float, float, float]]:
    return {r: tuple(faults_per_iteration(p, r) for p in ("lru", "fifo", "opt")) for r in TABLE}  # type: ignore[misc]


def test_frames_equal_footprint_fault_only_new_data_pages(measured: dict[float, tuple[float, ...]]) -> None:
    lru, fifo, opt = measured[1.0]
    new = cnn().data_pages_per_iteration
    assert lru == opt == new
    # FIFO: the new data pages evict the previous batch's data pages (loaded first) in one
    # iteration; in the next they evict the staging buffer, and every fault then evicts the page
    # used next: all 1336 pages fault. So 8 and 1336 alternate.
    assert fifo == (new + cnn().footprint) / 2
    assert faults_per_iteration("clock", 1.0) > 10 * lru


def test_cliff_below_the_footprint(measured: dict[float, tuple[float, ...]]) -> None:
    fp = cnn().footprint
    lru, fifo, opt = measured[0.9]
    assert opt < lru < fifo and fifo == fp  # FIFO faults every page once per iteration
    assert lru < faults_per_iteration("clock", 0.9) < fifo
    lru, fifo, opt = measured[0.5]
    assert opt < lru < fifo and opt > 0.5 * fp  # everything faults heavily; OPT least


def test_the_table_is_pinned(measured: dict[float, tuple[float, ...]]) -> None:
    assert measured == {r: tuple(float(x) for x in row) for r, row in TABLE.items()}


def test_larger_batch_only_adds_data_faults_at_the_footprint() -> None:
    kw = dict(batch_size=4, dtype="amp", checkpoint_every=3)
    new = cnn(**kw).data_pages_per_iteration
    assert faults_per_iteration("lru", 1.0, **kw) == faults_per_iteration("opt", 1.0, **kw) == new == 32
