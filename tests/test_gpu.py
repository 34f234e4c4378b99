"""The GPU under CUDA Unified Memory (machine.gpu, kernel/uvm.py): validation, accounting, hints,
the prefetcher, and the expected shape of the results (docs/gpu.md)."""

from __future__ import annotations

import copy
import json
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support import plot_and_report

from vmsim.cli import main
from vmsim.errors import VmsimError
from vmsim.kernel.config import UVMConfig
from vmsim.kernel.uvm import _Run, _Space
from vmsim.metrics.results import GPURecord
from vmsim.metrics.schema import SimDoc, dump_json
from vmsim.scenario.build import simulate
from vmsim.scenario.loader import checked, load_scenario

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "scenarios" / "uvm_oversubscription.yaml"

BASE: dict[str, Any] = {
    "name": "gpu-test",
    "seed": 3,
    "machine": {"page_size": "4KiB", "gpu": {"preset": "gtx-1080-ti", "oversubscription": 1.25}},
    "processes": [
        {
            "name": "k",
            "workload": {
                "kind": "gpu_kernel",
                "access": "regular",
                "iterations": 3,
                "arrays": [
                    {"name": "a", "size": "16MiB"},
                    {"name": "b", "size": "16MiB"},
                    {"name": "c", "size": "16MiB", "write": True},
                ],
            },
        }
    ],
}


def scenario(**changes: Any) -> dict[str, Any]:
    """BASE with dotted-path changes (``machine.gpu.oversubscription=1.5``)."""
    data = copy.deepcopy(BASE)
    for path, value in changes.items():
        keys = path.split("__")
        node: Any = data
        for k in keys[:-1]:
            node = node[int(k)] if k.isdecimal() else node.setdefault(k, {})
        node[keys[-1]] = value
    return data


def gpu(data: dict[str, Any]) -> GPURecord:
    r = simulate(checked(data, "test.yaml"))
    assert r.gpu is not None
    return r.gpu


def test_slowdown_grows_with_oversubscription_and_irregular_suffers_most() -> None:
    slow = {}
    for access in ("regular", "irregular"):
        for factor in (1.0, 1.1, 1.25, 1.5):
            run = scenario(processes__0__workload__access=access, machine__gpu__oversubscription=factor)
            slow[access, factor] = gpu(run).slowdown
    for access in ("regular", "irregular"):
        assert slow[access, 1.0] == 1.0
        series = [slow[access, f] for f in (1.0, 1.1, 1.25, 1.5)]
        assert series == sorted(series) and series[1] > 1.5
    irregular = [slow["irregular", f] for f in (1.1, 1.25, 1.5)]
    assert irregular[0] < irregular[1] < irregular[2]
    # irregular slows down by one to two orders of magnitude, regular streaming by single digits
    assert all(10 <= x < 1000 for x in irregular) and all(slow["regular", f] < 10 for f in (1.1, 1.25, 1.5))
    assert all(slow["irregular", f] >= 3 * slow["regular", f] for f in (1.1, 1.25, 1.5))
    assert slow["irregular", 1.5] >= 10 * slow["regular", 1.5]


@pytest.mark.parametrize("access", ["regular", "irregular"])
def test_the_prefetcher_speeds_up_a_job_that_fits(access: str) -> None:
    common = {"processes__0__workload__access": access, "machine__gpu__oversubscription": 1.0}
    on = gpu(scenario(**common))
    off = gpu(scenario(**common, machine__gpu__uvm={"prefetch": {"enabled": False}}))
    assert on.prefetched > 0 and off.prefetched == 0
    assert on.kernel_time_s < off.kernel_time_s and on.fault_batches < off.fault_batches


def test_accounting() -> None:
    fits = gpu(scenario(machine__gpu__oversubscription=1.0))
    assert fits.evictions == fits.refaults == fits.bytes_to_host == 0
    assert fits.fits_time_s == fits.kernel_time_s and fits.oversubscription == 1.0
    assert fits.bytes_to_device == fits.footprint == 48 << 20  # every unit migrated once
    over = gpu(scenario(machine__gpu__oversubscription=1.5))
    assert over.bytes_to_device == (over.faults + over.prefetched) * over.granularity
    assert over.bytes_to_host == over.evictions * over.granularity  # nothing read-mostly: all copied back
    assert 0 < over.refaults <= over.evictions
    assert over.device_memory == (over.footprint // over.granularity * 2 // 3) * over.granularity
    assert over.kernel_time_s == pytest.approx(over.compute_s + over.fault_service_s)


def test_same_seed_same_json_and_the_document_carries_the_gpu() -> None:
    data = scenario(processes__0__workload__access="irregular")
    one = dump_json(SimDoc.of(simulate(checked(data, "t.yaml"))))
    assert one == dump_json(SimDoc.of(simulate(checked(copy.deepcopy(data), "t.yaml"))))
    doc = json.loads(one)
    assert doc["global"]["gpu"]["preset"] == "gtx-1080-ti" and doc["global"]["gpu"]["slowdown"] > 1
    other = dump_json(SimDoc.of(simulate(checked(scenario(processes__0__workload__access="irregular", seed=4), "t.yaml"))))
    assert other != one


def test_read_mostly_host_and_prefetch_hints() -> None:
    base = gpu(scenario(machine__gpu__oversubscription=1.5))
    rm = gpu(scenario(machine__gpu__oversubscription=1.5, processes__0__workload__hints={"read_mostly": ["a", "b"]}))
    assert rm.bytes_to_host < base.bytes_to_host and rm.evictions > 0
    host = gpu(scenario(machine__gpu__oversubscription=1.0, processes__0__workload__hints={"host": ["a"]}))
    assert host.bytes_remote == 3 * (16 << 20)  # read over the link every iteration, never migrated
    assert host.bytes_to_device == 32 << 20
    plain = gpu(scenario(machine__gpu__oversubscription=1.0))
    pre = gpu(scenario(machine__gpu__oversubscription=1.0, processes__0__workload__hints={"prefetch": ["a", "b", "c"]}))
    assert pre.faults == 0 and pre.fault_batches == 0 and pre.prefetch_hits == pre.prefetched
    assert pre.kernel_time_s < plain.kernel_time_s


def test_policy_eviction_goes_through_the_pager() -> None:
    lru = scenario(machine__gpu__oversubscription=1.25, machine__gpu__uvm={"eviction": "policy"})
    r = simulate(checked(lru, "t.yaml"))
    assert r.policy == "lru" and r.gpu is not None and r.gpu.eviction == "lru" and r.gpu.evictions > 0
    chunk = gpu(scenario(machine__gpu__oversubscription=1.0))
    fits = gpu(scenario(machine__gpu__oversubscription=1.0, machine__gpu__uvm={"eviction": "policy"}))
    assert (fits.faults, fits.kernel_time_s, fits.evictions) == (chunk.faults, chunk.kernel_time_s, 0)


def test_two_megabyte_units_and_the_cnn_on_a_gpu() -> None:
    big = gpu(scenario(machine__gpu__uvm={"granularity": "2MiB"}))
    assert big.granularity == 2 << 20 and big.prefetched == 0 and big.faults > 0
    cnn = scenario()
    cnn["processes"][0]["workload"] = {"kind": "cnn_train", "model": {"preset": "toy"}, "iterations": 3}
    cnn["machine"]["gpu"]["oversubscription"] = 1.25
    r = gpu(cnn)
    assert r.slowdown is not None and r.slowdown > 1 and r.refaults > 0


def _run(units: int, per_block_units: int = 32) -> _Run:
    cfg = UVMConfig(
        device_memory=units * 65536,
        granularity=65536,
        page_size=65536,
        device_bandwidth=1e12,
        link_bandwidth=1e10,
        link_latency_ns=0,
    )

    class _W:
        segments = (("x", 0, 4 * per_block_units, False),)
        footprint = 4 * per_block_units

    from vmsim.kernel.config import ProcessSpec

    procs = [ProcessSpec("p", "p", 0, _W())]  # type: ignore[arg-type]
    return _Run(cfg, _Space(cfg, procs), procs, units, random.Random(0))


def test_density_prefetcher_takes_the_largest_region_over_the_threshold() -> None:
    run = _run(1000)
    # 17 of a block's 32 units faulting: more than 51% of the block, so all of it.
    assert sorted(run._density(np.arange(17, dtype=np.int64)).tolist()) == list(range(17, 32))
    # 16 of 32 is not more than 51%; its 16-unit half is full already: nothing to add.
    assert run._density(np.arange(16, dtype=np.int64)).tolist() == []
    # 3 of the first 4 units (75%) of block 1, and 1 of 2 elsewhere (50%, not more): one unit added.
    got = run._density(np.array([32, 33, 34, 40], np.int64)).tolist()
    assert got == [35]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"machine__gpu__preset": "rtx-9090"}, "unknown GPU preset 'rtx-9090'"),
        ({"machine__gpu__memory": "8GiB"}, "memory or machine.gpu.oversubscription, not both"),
        ({"machine__gpu__uvm": {"granularity": "8KiB"}}, "granularity must be 4KiB, 64KiB or 2MiB"),
        ({"machine__gpu__link": "usb"}, "unknown link 'usb'"),
        ({"machine__gpu__oversubscription": 100}, "fewer than two 2 MiB chunks"),
        ({"machine__gpu__uvm": {"eviction": "policy"}, "kernel": {"replacement": {"policy": "opt"}}}, "needs the future"),
        ({"machine__tlb": {"entries": 16}}, "machine.tlb models a CPU's TLB"),
        ({"processes__0__workload__hints": {"prefetch": ["z"]}}, "no array named 'z'"),
        ({"processes__0__workload__hints": {"read_mostly": ["c"]}}, "array 'c' is written by the kernel"),
        ({"processes__0__workload__hints": {"host": ["a"], "prefetch": ["a"]}}, "cannot also be prefetched"),
    ],
)
def test_bad_gpu_input_is_one_line(change: dict[str, Any], message: str) -> None:
    with pytest.raises(VmsimError, match=re.escape(message)):
        checked(scenario(**change), "t.yaml")


def test_gpu_without_preset_needs_its_figures_and_gpu_kernel_needs_a_gpu() -> None:
    data = scenario()
    data["machine"]["gpu"] = {"oversubscription": 1.2}
    with pytest.raises(VmsimError, match=r"without a preset, machine\.gpu needs bandwidth, link"):
        checked(data, "t.yaml")
    data["machine"]["gpu"] = {"memory": "40MiB", "bandwidth": 900, "link_bandwidth": 25, "link_latency": "3us"}
    r = gpu(data)
    assert r.preset is None and r.device_memory == 40 << 20 and r.oversubscription == pytest.approx(1.2)
    del data["machine"]["gpu"]
    with pytest.raises(VmsimError, match=r"gpu_kernel workload runs on a GPU: add machine\.gpu"):
        checked(data, "t.yaml")


def test_validate_rejects_what_simulate_would(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(SHIPPED.read_text().replace("oversubscription: 1.25", "oversubscription: 900"))
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "bad.yaml" in err and "fewer than two 2 MiB chunks" in err


def test_shipped_scenario_sweeps(capsys: pytest.CaptureFixture[str]) -> None:
    load_scenario(SHIPPED)
    small = ["--set", "processes.0.workload.iterations=2"] + [
        x for i in range(3) for x in ("--set", f"processes.0.workload.arrays.{i}.size=8MiB")
    ]
    args = ["sweep", str(SHIPPED), "--vary", "machine.gpu.oversubscription=1.0,1.5", "--workers", "1", *small, "--format", "csv"]
    assert main(args) == 0
    header, *rows = capsys.readouterr().out.strip().splitlines()
    cols = header.split(",")
    assert "gpu_slowdown" in cols and "gpu_fault_batches" in cols and len(rows) == 2
    slow = [float(r.split(",")[cols.index("gpu_slowdown")]) for r in rows]
    assert slow[0] == 1.0 and slow[1] > 1.5
    assert main(["simulate", str(SHIPPED), *small]) == 0
    out = capsys.readouterr().out
    assert "slowdown" in out and "gtx-1080-ti" in out and "UVM faults" in out


def test_host_paging_reads_and_writes_the_paging_device() -> None:
    swap = {"read": "20us", "write": "20us", "channels": 1}
    plain = gpu(scenario(machine__gpu__oversubscription=1.5))
    assert (plain.host_page_ins, plain.host_page_outs) == (0, 0)
    roomy = gpu(scenario(machine__gpu__oversubscription=1.5, machine__gpu__host_paging=True, machine__memory="48MiB"))
    assert (roomy.host_page_ins, roomy.host_page_outs) == (0, 0) and roomy.kernel_time_s == plain.kernel_time_s
    tight = gpu(
        scenario(
            machine__gpu__oversubscription=1.5,
            machine__gpu__host_paging=True,
            machine__memory="8MiB",
            machine__paging_device=swap,
        )
    )
    assert tight.host_page_ins > 0 and tight.host_page_outs > 0 and tight.kernel_time_s > plain.kernel_time_s
    assert tight.faults == plain.faults  # the host's paging changes time, not the GPU's faults
    with pytest.raises(VmsimError, match="holds no 65,536-byte unit"):
        checked(scenario(machine__gpu__host_paging=True, machine__memory="32KiB"), "t.yaml")


def test_plot_and_report_of_a_gpu_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    small = ["--set", "processes.0.workload.iterations=1"] + [
        x for i in range(3) for x in ("--set", f"processes.0.workload.arrays.{i}.size=8MiB")
    ]
    text = plot_and_report(tmp_path, capsys, SHIPPED, small)
    assert "slowdown" in text and "UVM faults" in text and "gtx-1080-ti" in text


def test_a_stopped_gpu_run_is_partial_without_a_slowdown() -> None:
    seen: list[tuple[int, int | None]] = []

    def stop_at_once(references: int, faults: int | None) -> bool:
        seen.append((references, faults))
        return True

    r = simulate(checked(scenario(machine__gpu__oversubscription=1.5), "t.yaml"), on_sample=stop_at_once)
    whole = simulate(checked(scenario(machine__gpu__oversubscription=1.5), "t.yaml"))
    assert r.partial and not whole.partial and len(seen) == 1
    assert r.gpu is not None and r.gpu.slowdown is None and 0 < r.references < whole.references


def test_a_gpu_sweep_plots_the_slowdown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import vmsim.metrics.plots as plots

    small = ["--set", "processes.0.workload.iterations=1"] + [
        x for i in range(3) for x in ("--set", f"processes.0.workload.arrays.{i}.size=8MiB")
    ]
    seen: list[str] = []
    real = plots._sweep_figure

    def spy(doc: Any, figure: Any) -> Any:
        fig = real(doc, figure)
        seen.append(fig.axes[0].get_ylabel() + "|" + fig.axes[0].get_yscale())
        return fig

    monkeypatch.setattr(plots, "_sweep_figure", spy)
    png = tmp_path / "s.png"
    args = [
        "sweep",
        str(SHIPPED),
        "--vary",
        "machine.gpu.oversubscription=1.0,1.5",
        "--workers",
        "1",
        *small,
        "--plot",
        str(png),
        "-q",
    ]
    assert main(args) == 0
    assert png.stat().st_size > 10_000 and seen == ["slowdown against the job on a GPU it fits (x)|log"]


@pytest.mark.parametrize(
    "args",
    [
        ["compare", str(SHIPPED), "--frames", "1000,2000", "--policy", "lru,fifo"],
        ["curve", str(SHIPPED), "--frames", "1000,2000", "--policy", "fifo"],
        ["record", "GOLDEN", str(SHIPPED), "-p", "fifo", "-f", "3"],
    ],
)
def test_commands_that_vary_cpu_memory_refuse_a_gpu_scenario(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Their runs would differ only in what a GPU run ignores: one line, exit 2, nothing written."""
    golden = tmp_path / "g.json"
    assert main([golden.as_posix() if a == "GOLDEN" else a for a in args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "which a machine.gpu run does not use" in err and not golden.exists()
