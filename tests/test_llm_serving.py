"""LLM serving on a GPU (llm_infer with machine.gpu, workloads/serving.py): the presets' sizes, the
roofline clock, the KV managers and the vLLM paper's memory-waste finding, swap against
recompute, shared blocks, prefix caching, and every bad input as one line (docs/llm.md)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import plot_and_report

from vmsim.cli import main
from vmsim.errors import VmsimError
from vmsim.metrics.results import LLMRecord
from vmsim.scenario.build import build_serving, simulate
from vmsim.scenario.loader import checked, load_scenario
from vmsim.workloads.llm_presets import MODELS
from vmsim.workloads.serving import _Blocks

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "scenarios" / "vllm_memory_waste.yaml"
GIB = 1 << 30

BASE: dict[str, Any] = {
    "name": "llm-test",
    "seed": 5,
    "machine": {"gpu": {"preset": "a100-40gb"}},
    "kernel": {"sample_interval": "1s"},
    "processes": [
        {
            "name": "server",
            "workload": {"kind": "llm_infer", "model": "opt-13b", "lengths": "sharegpt", "rate": 3.0, "duration": "150s"},
        }
    ],
}


def scenario(**changes: Any) -> dict[str, Any]:
    """BASE with changes: ``a__b__c=v`` sets data["a"]["b"]["c"] (list indices as numbers)."""
    data = copy.deepcopy(BASE)
    for path, value in changes.items():
        node: Any = data
        *head, last = path.split("__")
        for key in head:
            node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
        node[last] = value
    return data


def serve(data: dict[str, Any]) -> LLMRecord:
    r = simulate(checked(data, "t.yaml")).llm
    assert r is not None
    return r


def kv(**changes: Any) -> dict[str, Any]:
    return {"processes__0__workload__kv": changes}


def test_the_presets_give_the_papers_sizes() -> None:
    """OPT-13B: 800 KiB of KV per token (2 x 40 layers x 40 heads x 128 x 2 bytes) and 26 GB of
    weights; on an A100-40GB at 0.9 utilisation that leaves the paper's ~12 GB and ~15.7K slots."""
    opt = MODELS["opt-13b"]
    assert opt.kv_bytes_per_token == 819_200
    assert 25.6e9 < opt.weight_bytes < 25.8e9
    assert MODELS["llama-2-7b"].kv_bytes_per_token == 512 << 10
    assert MODELS["llama-3-8b"].kv_bytes_per_token == 128 << 10
    cfg = build_serving(checked(scenario(), "t.yaml")).cfg
    assert cfg.pool_bytes == int(0.9 * 40 * GIB) - opt.weight_bytes
    assert 15_500 < cfg.pool_bytes // cfg.kv_bytes_per_token < 16_000
    assert cfg.pool_blocks == cfg.pool_bytes // (16 * 819_200)


def test_decode_is_bound_by_reading_the_weights_and_prefill_by_compute(tmp_path: Path) -> None:
    """One request at a time: a token takes weights / bandwidth (25.7 GB at 1,555 GB/s = 16.5 ms)
    plus its KV; a 1,900-token prompt takes 2 x params x tokens / 312 TFLOP/s = 157 ms."""
    reqs = tmp_path / "r.csv"
    reqs.write_text("arrival_s,prompt_tokens,output_tokens\n0.0,1900,10\n5.0,8,50\n")
    w = {"requests_file": str(reqs), "duration": "10s", "model": "opt-13b"}
    r = serve(scenario(processes__0__workload={"kind": "llm_infer", **w}))
    opt = MODELS["opt-13b"]
    decode = opt.weight_bytes / 1555e9
    prefill = 2 * opt.params * 1900 / 312e12
    assert r.finished == 2 and r.output_tokens == 60
    assert r.ttft_p99_s == pytest.approx(prefill, rel=0.02)  # the long prompt's first token
    assert r.ttft_p50_s == pytest.approx((prefill + decode) / 2, rel=0.05)
    assert decode < r.tpot_p50_s < decode * 1.2
    half = serve(scenario(processes__0__workload={"kind": "llm_infer", **w, "efficiency": 0.5}))
    assert half.tpot_p50_s == pytest.approx(2 * r.tpot_p50_s, rel=0.01)
    assert half.ttft_p99_s == pytest.approx(2 * r.ttft_p99_s, rel=0.01)


def test_contiguous_reservations_waste_most_of_the_kv_memory_and_paged_almost_none() -> None:
    """The vLLM paper's Figure 2: Orca's max, pow2 and oracle reservations hold token states in
    20.4%, 26.8% and 38.2% of KV memory; PagedAttention in 96.3%."""
    paged = serve(scenario())
    reserved = {how: serve(scenario(**kv(manager="contiguous", reserve=how))) for how in ("max", "pow2", "oracle")}
    assert paged.token_share > 0.9 and paged.kv_reservation == 0 and paged.kv_external_fragmentation == 0
    # reservations placed by a buddy allocator, as the paper's Orca baselines (docs/llm.md)
    assert 0.15 < reserved["max"].token_share < 0.3
    assert reserved["max"].token_share < reserved["pow2"].token_share < 0.45
    assert reserved["max"].token_share < reserved["oracle"].token_share < 0.45
    assert reserved["oracle"].kv_external_fragmentation > 0.25  # the buddy system's rounding
    first_fit = serve(scenario(**kv(manager="contiguous", reserve="oracle", heap="first_fit")))
    assert first_fit.kv_external_fragmentation < reserved["oracle"].kv_external_fragmentation
    assert first_fit.token_share > reserved["oracle"].token_share
    for r in reserved.values():
        assert r.kv_reservation > 0.1 and r.preemptions == 0
        assert r.kv_token_states + r.kv_reservation + r.kv_internal_fragmentation + r.kv_external_fragmentation + r.kv_free == (
            pytest.approx(1.0, abs=1e-5)
        )
    assert reserved["max"].kv_internal_fragmentation > 0.4 and reserved["oracle"].kv_internal_fragmentation == 0
    # same request rate: paged keeps up, max reservation cannot
    assert paged.throughput_tokens_s >= 2 * reserved["max"].throughput_tokens_s
    assert paged.ttft_p50_s < 1 < reserved["max"].ttft_p50_s


def test_swap_costs_host_link_traffic_that_recompute_does_not() -> None:
    busy = {"processes__0__workload__rate": 4.5}
    recompute = serve(scenario(**busy))
    swap = serve(scenario(**busy, **kv(preemption="swap")))
    assert recompute.preemptions > 0 and recompute.recomputed_tokens > 0
    assert recompute.link_bytes == 0 and recompute.swapped_out == 0
    assert swap.swapped_out > 0 and swap.recomputed_tokens == 0
    assert swap.link_bytes > 0 and swap.link_busy_s > 0
    assert swap.link_bytes % (16 * 819_200) == 0  # whole blocks, out and back


def test_without_swap_space_swap_falls_back_to_recompute() -> None:
    r = serve(scenario(processes__0__workload__rate=4.5, **kv(preemption="swap", swap_space=0)))
    assert r.preemptions > 0 and r.swapped_out == 0 and r.recomputed_tokens > 0 and r.link_bytes == 0


def test_the_os_pager_alone_thrashes_where_paged_blocks_keep_serving() -> None:
    """Without a manager every running sequence stays admitted: once their KV outgrows the device,
    each decode step faults blocks over the link, steps slow down, more requests pile in."""
    load = {"processes__0__workload__rate": 4.0, "processes__0__workload__duration": "300s"}
    paged = serve(scenario(**load))
    data = scenario(**load, **kv(manager="os_demand"))
    result = simulate(checked(data, "t.yaml"))
    demand = result.llm
    assert demand is not None
    assert result.faults > result.cold_faults > 0 and result.writebacks > 0
    assert demand.link_bytes > 0 and demand.preemptions == 0
    assert demand.throughput_tokens_s < paged.throughput_tokens_s / 2
    assert result.thrashing.detected
    lru = simulate(checked(data, "t.yaml"))
    assert lru.faults == result.faults  # seeded: the same run twice


def test_parallel_samples_and_beams_share_blocks_copy_on_write() -> None:
    """The paper's section 6.3 (OPT-13B, Alpaca): sharing saves 6.1-9.8% of the blocks for 2 to 6
    parallel samples and 37.6-55.2% for beam widths 2 to 6 (here 5.2-8.5% and 42-70%)."""
    alpaca = {
        "processes__0__workload__rate": 1.0,
        "processes__0__workload__lengths": "alpaca",
        "processes__0__workload__duration": "10min",
    }
    single = serve(scenario(**alpaca))
    assert single.sharing_saving == 0 and single.cow_copies == 0
    saving = {}
    for how in ("n", "beam_width"):
        for width in (2, 6):
            r = serve(scenario(**alpaca, processes__0__workload__sampling={how: width}))
            assert r.cow_copies > 0 and r.output_tokens > (width - 0.5) * single.output_tokens
            saving[how, width] = r.sharing_saving
    assert 0.03 < saving["n", 2] < saving["n", 6] < 0.12
    assert 0.3 < saving["beam_width", 2] < saving["beam_width", 6] < 0.8


def test_prefix_caching_hits_the_shared_system_prompt() -> None:
    shared = {"processes__0__workload__prefix": {"tokens": 512, "count": 2}, "processes__0__workload__rate": 1.0}
    off = serve(scenario(**shared))
    on = serve(scenario(**shared, **kv(prefix_caching=True)))
    assert off.prefix_hit_ratio is None
    assert on.prefix_hit_ratio is not None and 0.5 < on.prefix_hit_ratio < 1
    assert on.ttft_p50_s < off.ttft_p50_s  # cached blocks are not prefilled again
    assert on.sharing_saving > 0.3  # running requests share the prefix's blocks


def test_a_request_that_never_fits_the_pool_is_rejected_not_waited_for() -> None:
    """A 200 MiB pool holds 256 tokens of OPT-13B: longer requests are dropped at admission, as
    vLLM drops a prompt beyond its capacity, and the rest are served."""
    r = serve(scenario(**kv(pool_bytes="200MiB")))
    assert r.rejected > 0 and r.finished > 0
    assert r.finished + r.rejected <= r.requests
    tiny = serve(scenario(**kv(pool_bytes="200MiB", manager="contiguous", reserve="oracle")))
    assert tiny.rejected > 0 and tiny.finished > 0


def test_cached_free_blocks_are_reused_least_recently_freed_first() -> None:
    """A finished request's blocks join the free queue in reverse order, so its last block (the
    least likely to be shared) is evicted first; a cache hit takes a block out of the queue."""
    b = _Blocks(6, caching=True)
    first = [b.take() for _ in range(3)]
    for i, blk in enumerate(first):
        b.fill[blk] = 16
        b.seal(blk, ("r1", i))
    for blk in reversed(first):
        b.drop(blk)
    assert list(b.free) == [3, 4, 5, 2, 1, 0]
    assert b.cached[("r1", 0)] == 0
    assert b.take_cached(b.cached[("r1", 0)]) == 0 and 0 not in b.free
    assert [b.take() for _ in range(4)] == [3, 4, 5, 2]
    assert ("r1", 2) not in b.cached and ("r1", 1) in b.cached  # reusing block 2 evicted its content


def test_the_shipped_scenario_serves_ten_minutes_of_opt_13b(capsys: pytest.CaptureFixture[str]) -> None:
    sc = load_scenario(SHIPPED)
    result = simulate(sc)
    r = result.llm
    assert r is not None and r.model == "opt-13b" and r.gpu == "a100-40gb" and r.duration_s >= 600
    assert r.requests > 800 and r.finished > 0.95 * r.requests
    assert result.references > 0 and result.faults == 0
    assert main(["simulate", str(SHIPPED), "--set", "processes.0.workload.duration=20s"]) == 0
    out = capsys.readouterr().out
    assert "opt-13b on a100-40gb" in out and "token states" in out and "time to first token" in out
    assert main(["validate", str(SHIPPED)]) == 0
    assert "a KV pool of 987 blocks of 16 tokens on a100-40gb" in capsys.readouterr().out


def test_sweep_over_managers_prints_the_llm_columns(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["sweep", str(SHIPPED), "--vary", "processes.0.workload.kv.manager=paged,contiguous", "--workers", "1"]
    assert main([*args, "--set", "processes.0.workload.duration=60s", "--format", "csv"]) == 0
    header, *rows = capsys.readouterr().out.strip().splitlines()
    cols = header.split(",")
    assert {"llm_token_share", "llm_throughput_tokens_s", "llm_ttft_p50_s", "llm_tpot_p99_s"} <= set(cols)
    share, tokens = ([float(r.split(",")[cols.index(f"llm_{k}")]) for r in rows] for k in ("token_share", "throughput_tokens_s"))
    assert len(rows) == 2 and share[0] > 0.9 > 0.5 > share[1]
    assert tokens[0] >= 2 * tokens[1]  # the same request rate


def test_same_seed_same_json(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["simulate", str(SHIPPED), "--set", "processes.0.workload.duration=30s", "--format", "json"]
    outs = []
    for _ in range(2):
        assert main(args) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1]
    doc = json.loads(outs[0])
    assert doc["global"]["llm"]["manager"] == "paged"


def test_plot_and_report_of_a_serving_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = plot_and_report(tmp_path, capsys, SHIPPED, ["--set", "processes.0.workload.duration=30s"])
    assert "time to first token" in page


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"processes__0__workload__model": "gpt-5"}, "unknown model 'gpt-5'"),
        (kv(reserve="pow2"), "reserve sizes contiguous reservations: it needs manager contiguous"),
        (kv(manager="contiguous", preemption="swap"), "preemption applies to paged blocks"),
        ({"processes__0__workload__sampling": {"n": 2, "beam_width": 2}}, "not both"),
        ({"processes__0__workload__sampling": {"n": 2}, **kv(manager="contiguous")}, "sampling shares blocks"),
        ({"processes__0__workload__steps": 50}, "steps does not apply to machine.gpu's serving model"),
        ({"processes__0__workload__prompt_len": {"mean": 20}}, "give lengths or prompt_len/output_len, not both"),
        ({"processes__0__workload__prefix": {"tokens": 5000}}, "prefix.tokens (5000) leaves no room"),
        ({"machine__gpu__oversubscription": 1.5}, "machine.gpu.oversubscription applies to Unified Memory jobs"),
        ({"machine__gpu__preset": "l4-24gb", "processes__0__workload__model": "llama-2-70b"}, "no room for a KV pool"),
        ({"machine__gpu": {"memory": "40GiB", "bandwidth": 1555, "link": "pcie4"}}, "needs flops"),
        ({**kv(manager="os_demand"), "kernel": {"replacement": {"policy": "opt"}}}, "opt needs the future"),
        (kv(manager="contiguous", heap="caching"), "kv.heap caching is PyTorch's allocator"),
        ({"processes__0__workload__kv": {"pool_fraction": 0.5}}, "kv.pool_fraction applies without machine.gpu"),
        ({"processes__0__workload__requests_file": "/nonexistent/r.csv"}, "cannot read the requests file"),
        (kv(pool_bytes="30GiB"), "bytes of weights exceed the GPU's memory"),
        ({"processes__0__workload__rate": 1e5, "processes__0__workload__duration": "7200s"}, "one run serves at most 10,000,000"),
        ({"processes__0__workload__duration": "90000s"}, "processes.0.workload.duration"),
    ],
)
def test_bad_serving_input_is_one_line(change: dict[str, Any], message: str) -> None:
    with pytest.raises(VmsimError, match=re.escape(message)) as e:
        checked(scenario(**change), "t.yaml")
    assert "\n" not in str(e.value) and "t.yaml" in str(e.value)


def test_gpu_only_fields_are_refused_without_a_gpu() -> None:
    data = scenario()
    del data["machine"]["gpu"]
    data["processes"][0]["workload"] = {"kind": "llm_infer", "rate": 2.0}
    with pytest.raises(VmsimError, match=r"rate does not apply to the CPU decode loop"):
        checked(data, "t.yaml")
    data["processes"][0]["workload"] = {"kind": "llm_infer", "efficiency": 0.5}
    with pytest.raises(VmsimError, match=r"efficiency does not apply to the CPU decode loop"):
        checked(data, "t.yaml")
    data["processes"][0]["workload"] = {"kind": "llm_infer", "kv": {"preemption": "swap"}}
    with pytest.raises(VmsimError, match=r"kv\.preemption applies with machine\.gpu"):
        checked(data, "t.yaml")


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("0.0,10\n", "r.csv:1: expected arrival_s,prompt_tokens,output_tokens, got 2 fields"),
        ("arrival,prompt,output\n0.5,ten,3\n", "r.csv:2: expected a number of seconds and two whole token counts"),
        ("1.0,10,5\n0.5,10,5\n", "r.csv:2: arrivals must not decrease"),
        ("0.0,2000,100\n", "r.csv:1: prompt plus output (2100) exceeds max_model_len (2048)"),
        ("0.0,0,5\n", "r.csv:1: arrival must be >= 0 and both lengths >= 1"),
        ("# nothing\n", "r.csv: no requests"),
    ],
)
def test_a_bad_requests_file_names_its_line(tmp_path: Path, rows: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    reqs = tmp_path / "r.csv"
    reqs.write_text(rows)
    data = scenario(processes__0__workload={"kind": "llm_infer", "model": "opt-13b", "requests_file": str(reqs)})
    with pytest.raises(VmsimError, match=re.escape(message)):
        checked(data, "t.yaml")
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err


def test_compare_refuses_a_serving_scenario_and_says_what_to_vary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(SHIPPED), "--frames", "1,2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--vary processes.0.workload.kv.manager" in err
