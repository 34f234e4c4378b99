"""The AI scenarios on the kernel: the qualitative results of ../shared/ai-workloads.md, and
every workload parameter validated before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmsim.errors import VmsimError
from vmsim.scenario.build import build, simulate
from vmsim.scenario.loader import load_scenario, validate

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def run(name: str, *sets: str):
    return simulate(load_scenario(SCENARIOS / f"{name}.yaml", list(sets)))


def test_cnn_train_near_the_footprint_lru_beats_fifo() -> None:
    few = ["processes.0.workload.iterations=8"]
    lru = run("cnn_train", *few, "kernel.replacement.policy=lru")
    fifo = run("cnn_train", *few, "kernel.replacement.policy=fifo")
    clock = run("cnn_train", *few, "kernel.replacement.policy=clock")
    assert lru.faults < clock.faults < fifo.faults
    assert 3 * lru.faults < fifo.faults


def test_cnn_fp16_halves_the_activation_footprint() -> None:
    sc = load_scenario(SCENARIOS / "cnn_train.yaml")
    fp32 = build(sc).procs[0].spec.workload
    amp = build(load_scenario(SCENARIOS / "cnn_train.yaml", ["processes.0.workload.dtype=fp16"])).procs[0].spec.workload
    assert amp.activation_bytes * 2 == fp32.activation_bytes
    assert amp.footprint < fp32.footprint


def test_os_demand_kv_thrashes_where_paged_kv_preempts_and_keeps_serving() -> None:
    steps = "processes.0.workload.steps=50"
    paged = run("llm_serving", steps)
    os_demand = run("llm_serving", steps, "processes.0.workload.kv.manager=os_demand")
    # paged: the pool fits, so after the weights and KV are first touched nothing faults again
    assert paged.faults == paged.cold_faults
    assert not paged.thrashing.detected
    # os_demand: decode loops over more KV than fits: most KV references fault
    assert os_demand.faults > 10 * paged.faults
    assert os_demand.faults > 0.25 * os_demand.references
    assert os_demand.thrashing.detected
    stats = build(load_scenario(SCENARIOS / "llm_serving.yaml", [steps])).procs[0].spec.workload.stats()
    assert stats["preemptions"] > 0 and stats["tokens_served"] > 0


def test_contiguous_kv_reserves_memory_it_does_not_use() -> None:
    sc = load_scenario(SCENARIOS / "llm_serving.yaml", ["processes.0.workload.steps=50"])
    paged = build(sc).procs[0].spec.workload.stats()
    contiguous = (
        build(
            load_scenario(
                SCENARIOS / "llm_serving.yaml", ["processes.0.workload.steps=50", "processes.0.workload.kv.manager=contiguous"]
            )
        )
        .procs[0]
        .spec.workload.stats()
    )
    assert contiguous["kv_utilization"] < 0.5 < paged["kv_utilization"]
    assert contiguous["tokens_served"] < paged["tokens_served"]


def test_dataloader_shuffled_epochs_hit_sometimes_sequential_never() -> None:
    one = "processes.0.workload.epochs=1"
    shuffled = run("dataloader_shuffle")
    shuffled_1 = run("dataloader_shuffle", one)
    seq = run("dataloader_shuffle", "processes.0.workload.order=sequential")
    seq_1 = run("dataloader_shuffle", one, "processes.0.workload.order=sequential")
    later = shuffled.references - shuffled_1.references
    hit_ratio = (shuffled.hits - shuffled_1.hits) / later
    assert 0.08 < hit_ratio < 0.25  # the catalogue: about 15% under LRU at C/D = 0.5
    assert seq.hits == seq_1.hits  # sequential: no hit after the first epoch
    # the workers share the data set: the first epoch faults each page once in all
    assert shuffled_1.cold_faults == 4096


def test_working_set_control_on_the_multi_tenant_machine() -> None:
    r = run("multi_tenant_thrash", "kernel.load_control.kind=working_set")
    assert sum(p.suspensions for p in r.processes) > 0
    assert all(p.finish_s is not None for p in r.processes)


BAD = [
    ({"kind": "cnn_train", "batch_size": 0}, "batch_size: Input should be greater than or equal to 1"),
    ({"kind": "cnn_train", "model": "vgg"}, "model.preset: Input should be 'toy', 'resnet18' or 'resnet50'"),
    ({"kind": "embedding_lookup", "tables": [{"rows": 10, "dim": 4}], "alpha": -1}, "alpha: Input should be greater than 0"),
    ({"kind": "llm_infer", "kv": {"block_tokens": 0}}, "kv.block_tokens: Input should be greater than or equal to 1"),
    ({"kind": "llm_infer", "kv": {"manager": "virtual"}}, "kv.manager: Input should be 'paged', 'contiguous' or 'os_demand'"),
    ({"kind": "data_loader", "dataset_bytes": "1MiB", "sample_bytes": 0}, "sample_bytes: Input should be greater than 0"),
    ({"kind": "trace", "path": "missing.lackey.gz"}, "does not exist"),
]


@pytest.mark.parametrize(("workload", "message"), BAD)
def test_workload_parameters_are_validated(workload: dict, message: str) -> None:
    data = {"name": "x", "processes": [{"name": "p", "workload": workload}]}
    with pytest.raises(VmsimError) as e:
        validate(data, "s.yaml")
    assert message in str(e.value)


def test_errors_found_when_building_are_one_line_too() -> None:
    data = {
        "name": "x",
        "machine": {"memory": "1MiB"},
        "processes": [{"name": "p", "workload": {"kind": "llm_infer", "model": {"weight_bytes": "2MiB"}}}],
    }
    with pytest.raises(VmsimError, match="no room for a KV pool"):
        build(validate(data, "s.yaml"))
    data = {
        "name": "x",
        "processes": [{"name": "p", "workload": {"kind": "data_loader", "dataset_bytes": 100, "sample_bytes": 200}}],
    }
    with pytest.raises(VmsimError, match="sample_bytes must be <="):
        build(validate(data, "s.yaml"))


@pytest.mark.parametrize("name", sorted(p.stem for p in SCENARIOS.glob("*.yaml")))
def test_every_scenario_opens_with_a_comment_and_validates(name: str) -> None:
    path = SCENARIOS / f"{name}.yaml"
    assert path.read_text().startswith("#")
    load_scenario(path)


def test_contiguous_kv_placed_by_a_heap_reports_fragmentation() -> None:
    sets = ["processes.0.workload.steps=60", "processes.0.workload.kv.manager=contiguous"]
    slots = run("llm_serving", *sets).processes[0].workload
    for policy in ("best_fit", "worst_fit", "caching"):
        stats = run("llm_serving", *sets, f"processes.0.workload.kv.heap={policy}").processes[0].workload
        assert stats is not None and stats["heap"] == policy
        assert 0 <= stats["mean_external_fragmentation"] < 1
        # exact-length buffers admit more sequences than max-length slots
        assert stats["tokens_served"] > slots["tokens_served"]
        if policy == "caching":
            assert stats["reserved_minus_live"] > 0  # freed blocks stay reserved


def test_heap_needs_the_contiguous_manager() -> None:
    """Found when the scenario is loaded (validate), named with the file, line and field."""
    pattern = r"llm_serving\.yaml:\d+: processes\.0\.workload\.kv: .*needs manager contiguous"
    with pytest.raises(VmsimError, match=pattern) as info:
        load_scenario(SCENARIOS / "llm_serving.yaml", ["processes.0.workload.kv.heap=best_fit"])
    assert info.value.field == "processes.0.workload.kv" and info.value.line is not None


def test_output_lengths_take_their_own_sigma() -> None:
    """output_len.sigma shapes the output lengths (it was once ignored for prompt_len's)."""

    def stats(*changes: str) -> dict:
        sc = load_scenario(SCENARIOS / "llm_serving.yaml", ["processes.0.workload.steps=60", *changes])
        return build(sc).procs[0].spec.workload.stats()

    base = stats()
    assert stats("processes.0.workload.output_len.sigma=1.5") != base
    assert stats("processes.0.workload.output_len.sigma=0.5") == base  # the shipped value: the same run
