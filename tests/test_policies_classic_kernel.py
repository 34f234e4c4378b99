"""The classic policies under the kernel (`vmsim simulate`) and from the command line: every one
runs a small scenario, periodic ticks follow the kernel's simulated clock, the CLI lists and runs
them, and bad parameters are one line naming the parameter."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from support import TRACES

from vmsim.cli import main
from vmsim.errors import VmsimError
from vmsim.policies import PolicySpec
from vmsim.policies.nfu import NFU
from vmsim.scenario import build as build_mod
from vmsim.scenario.build import simulate
from vmsim.scenario.loader import load_scenario, validate

ROOT = Path(__file__).resolve().parents[1]
THRASHING = ROOT / "scenarios" / "thrashing.yaml"
BZIP2 = TRACES / "bzip2.lackey.gz"
CLASSIC = ["second-chance", "esc", "nru", "aging", "nfu", "lfu", "mfu", "wsclock", "ws", "pff"]


def small(policy: str, count: int = 2, references: int = 4000, *extra: str) -> list[str]:
    return [
        f"kernel.replacement.policy={policy}",
        f"processes.0.count={count}",
        f"processes.0.workload.references={references}",
        *extra,
    ]


@pytest.mark.parametrize("policy", CLASSIC)
def test_each_policy_runs_under_simulate(policy: str) -> None:
    """thrashing.yaml, 7 processes over 128 frames (their localities do not fit): every access
    is run, the counters obey the laws, and the same seed gives the same result."""
    s = load_scenario(THRASHING, small(policy, 7, 1000))
    res = simulate(s)
    assert res.policy == policy
    assert res.references == 7 * 1000
    assert res.cold_faults <= res.faults
    assert res.writebacks <= res.evictions <= res.faults
    assert res.evictions > 0
    assert simulate(s) == res


class Recorder(NFU):
    """NFU that records the ``now`` of every tick (built from a PolicySpec, not registered)."""

    ticks: list[int] = []  # noqa: RUF012

    def tick(self, now: int) -> list[int]:
        Recorder.ticks.append(now)
        return super().tick(now)


@pytest.mark.parametrize("period", [300, 600])
def test_kernel_ticks_follow_simulated_time(period: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """In simulate a tick comes every period x memory_access (1 us in thrashing.yaml) of the
    kernel's clock, with now = that time in memory-access units, until the last process ends:
    floor(simulated time / (period us)) ticks. Page-ins (1 ms each) stall the processes, so there
    are far more ticks than references / period: they follow the clock, not the references."""
    real = build_mod.kernel_config
    monkeypatch.setattr(
        build_mod, "kernel_config", lambda s: dataclasses.replace(real(s), policy=PolicySpec(Recorder, {"period": period}))
    )
    Recorder.ticks = []
    res = simulate(load_scenario(THRASHING, small("nfu", 2, 4000)))
    end_us = res.simulated_time_s * 1e6
    assert Recorder.ticks == [period * k for k in range(1, len(Recorder.ticks) + 1)]
    assert len(Recorder.ticks) == int(end_us // period)
    assert len(Recorder.ticks) > 4 * res.references / period


PHASES = ("processes.0.workload.phase_length=500",)  # the 20-page locality moves every 500 references


@pytest.mark.parametrize("policy", ["ws:period=1000:tau=20000", "pff:threshold=50"])
def test_releasing_policies_give_frames_back_under_simulate(policy: str) -> None:
    """Two processes whose 20-page localities move every 500 references: LRU keeps old localities
    until memory fills (64 and 74 frames at the peak); the working set (a 20 ms window on the
    kernel's clock) and PFF release pages that left the locality, so each process holds fewer."""
    lru = simulate(load_scenario(THRASHING, small("lru", 2, 3000, *PHASES)))
    res = simulate(load_scenario(THRASHING, small(policy, 2, 3000, *PHASES)))
    assert res.evictions > lru.evictions
    assert max(p.max_rss for p in res.processes) < min(p.max_rss for p in lru.processes)


def test_working_set_window_is_on_the_kernel_clock() -> None:
    """The window is measured on the kernel's clock, not each process's own time: with the default
    window (10 ms) shorter than the time a process waits for its page-ins and the other processes'
    slices, its pages age while it waits, and nearly every access faults (the reason the kernel's
    load control uses per-process virtual time instead). A window of 50 ms fixes it."""
    short = simulate(load_scenario(THRASHING, small("ws", 2, 3000, *PHASES)))
    long = simulate(load_scenario(THRASHING, small("ws:tau=50000", 2, 3000, *PHASES)))
    assert short.faults > 0.5 * short.references
    assert long.faults < 0.15 * long.references


def test_local_scope_under_simulate() -> None:
    """Each process its own domain (ticks go to every domain)."""
    res = simulate(load_scenario(THRASHING, small("ws:tau=50000", 3, 3000, "kernel.replacement.scope=local")))
    assert res.references == 9000
    assert res.scope == "local"


# --------------------------------------------------------------------------- command line


def test_policies_command_lists_them(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policies"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines()[2:]}
    for name in CLASSIC:
        assert name in rows
    assert "period=1000, bits=8" in rows["aging"]
    assert "period=1000, tau=10000" in rows["ws"] and "period=1000, tau=10000" in rows["wsclock"]
    assert "threshold=1000" in rows["pff"]
    assert "sc" in rows["second-chance"]


@pytest.mark.skipif(not BZIP2.exists(), reason="shared traces not available")
def test_replay_runs_each_on_a_trace(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    args = ["replay", str(BZIP2), "-f", "64", "--limit", "20000", "--format", "json", "-q"]
    for name in CLASSIC:
        args += ["-p", name]
    assert main(args) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert [r["policy"] for r in runs] == CLASSIC
    assert all(r["references"] == 20000 and r["faults"] >= r["cold_faults"] for r in runs)


def test_bad_parameter_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["refs", "1 2 3", "-p", "aging:bits=99"]) == 2
    err = capsys.readouterr().err
    assert err == "vmsim: error: policy aging: parameter bits must be between 1 and 64, got 99\n"


def test_bad_parameter_in_a_scenario_is_named() -> None:
    data = {
        "name": "t",
        "kernel": {"replacement": {"policy": {"kind": "working-set", "tau": 0}}},
        "processes": [{"name": "a", "workload": {"kind": "zipf", "pages": 10, "references": 100}}],
    }
    with pytest.raises(VmsimError, match=r"^s\.yaml.*policy ws: parameter tau must be between 1 and 1,000,000,000,000, got 0"):
        validate(data, "s.yaml")
    data["kernel"]["replacement"]["policy"] = "nru:period=0"
    with pytest.raises(VmsimError, match="policy nru: parameter period must be between 1 and 1,000,000,000, got 0"):
        validate(data, "s.yaml")
