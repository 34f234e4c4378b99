"""Plots (vmsim.metrics.plots) and the HTML report (vmsim.metrics.report) on real vmsim output."""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import io
import json
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from vmsim.cli import main
from vmsim.errors import VmsimError
from vmsim.metrics import plots
from vmsim.metrics.report import html_report, kind_of, write_report
from vmsim.metrics.schema import load_results

ROOT = Path(__file__).resolve().parents[1]
THRASHING = str(ROOT / "scenarios" / "thrashing.yaml")
BELADY = str(ROOT / "scenarios" / "belady_anomaly.yaml")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG_NS = "{http://www.w3.org/2000/svg}"
# The tests of missing matplotlib and of errors before drawing run without it.
needs_mpl = pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="needs matplotlib (vmsim[plot])")


def run_json(*args: str) -> Any:
    """Run the vmsim CLI in-process and parse what it prints."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(args))
    assert code == 0, out.getvalue()
    return json.loads(out.getvalue())


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    """One real document of each kind, made once for the module."""
    refs = run_json("refs", "1,2,3,4,1,2,5,1,2,3,4,5", "--frames", "1..6", "--policy", "fifo,lru,opt", "--format", "json")
    return {
        "simulate": run_json(
            "simulate", THRASHING, "--set", "processes.0.workload.references=20000", "--format", "json", "--quiet"
        ),
        "sweep": run_json(
            "sweep",
            THRASHING,
            "--set",
            "processes.0.workload.references=3000",
            "--vary",
            "processes.0.count=1..3",
            "--format",
            "json",
            "--quiet",
        ),
        "compare": run_json("compare", BELADY, "-f", "3,4", "-p", "fifo", "--format", "json"),
        "runs": refs,
        "curve": [{k: r[k] for k in ("policy", "frames", "references", "faults", "writebacks")} for r in refs["runs"]],
    }


@pytest.fixture(scope="module")
def docs(data: dict[str, Any]) -> dict[str, Any]:
    """The same documents read back into the results model, as plots and reports take them."""
    return {kind: load_results(d) for kind, d in data.items()}


PLOTTERS: dict[str, Callable[[Any, Any], None]] = {
    "simulate": plots.plot_simulation,
    "sweep": plots.plot_sweep,
    "compare": plots.plot_compare,
    "runs": plots.plot_runs,
    "curve": plots.plot_curve,
}
KINDS = list(PLOTTERS)


# ---------------------------------------------------------------------------------------------
# Plots


@needs_mpl
@pytest.mark.parametrize("kind", KINDS)
def test_plot_writes_png_and_svg(kind: str, docs: dict[str, Any], tmp_path: Path) -> None:
    plot = PLOTTERS[kind]
    png, svg = tmp_path / "out.png", tmp_path / "out.svg"
    assert plot(docs[kind], png) is None
    assert png.read_bytes().startswith(PNG_SIGNATURE)
    plot(docs[kind], str(svg))  # a str path works too
    root = ET.fromstring(svg.read_bytes())
    assert root.tag == f"{SVG_NS}svg"
    assert any(el.tag in (f"{SVG_NS}path", f"{SVG_NS}line", f"{SVG_NS}polyline") for el in root.iter())


@needs_mpl
@pytest.mark.parametrize("kind", KINDS)
def test_svg_is_byte_identical_across_calls(kind: str, docs: dict[str, Any], tmp_path: Path) -> None:
    a, b = tmp_path / "a.svg", tmp_path / "b.svg"
    PLOTTERS[kind](docs[kind], a)
    PLOTTERS[kind](docs[kind], b)
    assert a.read_bytes() == b.read_bytes()
    assert b"<dc:date>" not in a.read_bytes()


@pytest.mark.parametrize("name", ["plot.pdf", "plot", "plot.svg.txt"])
def test_bad_suffix_is_an_error_naming_the_path(name: str, docs: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / name
    with pytest.raises(VmsimError, match=re.escape(str(path))):
        plots.plot_curve(docs["curve"], path)
    assert not path.exists()


@needs_mpl
def test_uppercase_suffix_is_accepted(docs: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "PLOT.SVG"
    plots.plot_compare(docs["compare"], path)
    assert path.read_bytes().lstrip().startswith(b"<?xml")


@needs_mpl
def test_compare_marks_opt_and_anomalies(docs: dict[str, Any]) -> None:
    doc = docs["compare"]
    assert doc.anomalies, "belady_anomaly.yaml should show FIFO's anomaly at 3 -> 4 frames"
    svg = plots.svg_text("compare", doc)
    assert "opt (floor)" in svg  # the legend entry, kept as a comment by matplotlib
    assert "Belady anomaly" in svg
    assert "stroke-dasharray" in svg  # OPT dashed


@needs_mpl
def test_sweep_with_two_varied_parameters(tmp_path: Path) -> None:
    doc = run_json(
        "sweep",
        THRASHING,
        "--set",
        "processes.0.workload.references=1000",
        "--vary",
        "processes.0.count=1,2",
        "--vary",
        "kernel.replacement.policy=fifo,lru",
        "--format",
        "json",
        "--quiet",
    )
    svg = plots.svg_text("sweep", load_results(doc))
    assert "kernel.replacement.policy=fifo" in svg and "kernel.replacement.policy=lru" in svg
    assert "degree of multiprogramming" in svg


@needs_mpl
def test_sweep_with_a_non_numeric_parameter(data: dict[str, Any], tmp_path: Path) -> None:
    doc = copy.deepcopy(data["sweep"])
    for p, policy in zip(doc["points"], ["fifo", "lru", "clock"]):
        p["params"] = {"kernel.replacement.policy": policy}
    plots.plot_sweep(load_results(doc), tmp_path / "s.png")
    assert (tmp_path / "s.png").read_bytes().startswith(PNG_SIGNATURE)


def test_nothing_to_plot_is_an_error(data: dict[str, Any], tmp_path: Path) -> None:
    sim = load_results({k: v for k, v in data["simulate"].items() if k != "samples"})
    with pytest.raises(VmsimError, match="no samples"):
        plots.plot_simulation(sim, tmp_path / "x.png")
    with pytest.raises(VmsimError, match="nothing to plot"):
        plots.plot_sweep(load_results({**data["sweep"], "points": []}), tmp_path / "x.svg")


def test_missing_matplotlib_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, docs: dict[str, Any], tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    for kind in KINDS:
        with pytest.raises(VmsimError, match=re.escape("plots need matplotlib: pip install 'vmsim[plot]'")):
            PLOTTERS[kind](docs[kind], tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


# ---------------------------------------------------------------------------------------------
# The HTML report


class _Checker(HTMLParser):
    """Parses a page, checking every element is closed in order (void elements aside)."""

    VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: set[str] = set()
        self.urls: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.urls += [v for k, v in attrs if k in ("src", "href", "xlink:href") and v and not v.startswith("#")]
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.urls += [v for k, v in attrs if k in ("src", "href", "xlink:href") and v and not v.startswith("#")]

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check_page(page: str) -> _Checker:
    assert page.startswith("<!DOCTYPE html>")
    checker = _Checker()
    checker.feed(page)
    checker.close()
    assert checker.stack == [], f"unclosed: {checker.stack}"
    assert checker.urls == [], "the page must not load anything"
    assert not re.search(r"https?://", page), "no external references"
    assert "@import" not in page and "<script" not in page.lower()
    return checker


@needs_mpl
@pytest.mark.parametrize("kind", KINDS)
def test_report_is_one_self_contained_page(kind: str, docs: dict[str, Any]) -> None:
    doc = docs[kind]
    assert kind_of(doc) == kind
    page = html_report(doc, title=f"report of {kind}")
    checker = check_page(page)
    assert {"table", "svg", "title", "h1"} <= checker.tags
    assert f"<title>report of {kind}</title>" in page
    assert html_report(doc, title=f"report of {kind}") == page  # deterministic


def test_report_of_a_simulation_has_the_scenario_and_counters(data: dict[str, Any], docs: dict[str, Any]) -> None:
    sim = data["simulate"]
    text = " ".join(check_page(html_report(docs["simulate"])).text)
    g = sim["global"]
    assert sim["scenario"] in text
    for value in (g["references"], g["faults"], g["hits"], g["context_switches"]):
        assert f"{value:,}" in text
    for p in sim["processes"]:
        assert p["name"] in text
        assert f"{p['faults']:,}" in text


def test_report_of_a_sweep_compare_and_curve_has_the_counters(data: dict[str, Any], docs: dict[str, Any]) -> None:
    text = " ".join(check_page(html_report(docs["sweep"])).text)
    assert "processes.0.count" in text
    for p in data["sweep"]["points"]:
        assert f"{p['global']['faults']:,}" in text
    text = " ".join(check_page(html_report(docs["compare"])).text)
    assert "Belady anomalies" in text
    a = data["compare"]["anomalies"][0]
    assert a["policy"] in text and str(a["faults_to"]) in text
    text = " ".join(check_page(html_report(docs["curve"])).text)
    assert "miss ratio" in text and "0.5833" in text  # OPT, 3 frames: 7 faults of 12


def test_report_of_one_refs_run_with_its_step_table() -> None:
    one = run_json(
        "refs", "7 0 1 2 0 3 0 4 2 3 0 3 2 1 2 0 1 7 0 1", "--frames", "3", "--policy", "fifo", "--format", "json", "--explain"
    )
    checker = check_page(html_report(load_results(one)))
    text = " ".join(checker.text)
    assert "fifo" in text and "15" in text
    assert "Steps: fifo, 3 frames" in text and text.count("MISS") == 15 and "victim" in text


def test_report_escapes_text(data: dict[str, Any]) -> None:
    sim = copy.deepcopy(data["simulate"])
    sim["scenario"] = "<script>alert(1)</script> & co"
    sim["processes"][0]["name"] = '"><b>x</b>'
    page = html_report(load_results(sim), title="<i>t</i>")
    check_page(page)
    assert "<script>" not in page and "<b>x</b>" not in page and "<i>t</i>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page


def test_report_of_empty_results_and_unknown_documents() -> None:
    check_page(html_report(load_results([])))
    for bad in ({"x": 1}, "text", 3):
        with pytest.raises(VmsimError, match="not a vmsim results document"):
            load_results(bad)
    for bad in ([1, 2], [{"params": {}}]):
        with pytest.raises(VmsimError, match="not a vmsim curve"):
            load_results(bad)


def test_report_without_matplotlib_has_tables_and_a_note(monkeypatch: pytest.MonkeyPatch, docs: dict[str, Any]) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    for kind in KINDS:
        page = html_report(docs[kind])
        checker = check_page(page)
        assert "table" in checker.tags and "svg" not in checker.tags
        assert "plots need matplotlib: pip install &#x27;vmsim[plot]&#x27;" in page


def test_report_without_samples_notes_the_missing_plot(data: dict[str, Any]) -> None:
    sim = load_results({k: v for k, v in data["simulate"].items() if k != "samples"})
    checker = check_page(html_report(sim))
    assert "svg" not in checker.tags and "table" in checker.tags
    assert "no samples" in " ".join(checker.text)


@needs_mpl
def test_write_report(data: dict[str, Any], tmp_path: Path) -> None:
    src, out = tmp_path / "sim.json", tmp_path / "report.html"
    src.write_text(json.dumps(data["simulate"]), encoding="utf-8")
    assert write_report(src, out) is None
    page = out.read_text(encoding="utf-8")
    check_page(page)
    assert "sim.json" in page and data["simulate"]["scenario"] in page

    with pytest.raises(VmsimError, match=re.escape(str(out))):
        write_report(src, out)
    assert out.read_text(encoding="utf-8") == page
    (tmp_path / "other.json").write_text(json.dumps(data["curve"]), encoding="utf-8")
    write_report(tmp_path / "other.json", out, overwrite=True)
    assert "Miss-ratio curve" in out.read_text(encoding="utf-8")


def test_write_report_bad_input_names_the_file(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    missing = tmp_path / "missing.json"
    with pytest.raises(VmsimError, match=re.escape(str(missing))):
        write_report(missing, out)
    bad = tmp_path / "bad.json"
    bad.write_text('{"runs": [', encoding="utf-8")
    with pytest.raises(VmsimError, match=re.escape(str(bad)) + ".*JSON"):
        write_report(bad, out)
    odd = tmp_path / "odd.json"
    odd.write_text('{"hello": "world"}', encoding="utf-8")
    with pytest.raises(VmsimError, match=re.escape(str(odd)) + ".*not a vmsim results document"):
        write_report(odd, out)
    assert not out.exists()


def test_cli_plot_options_and_report(tmp_path: Path, capsys) -> None:
    """--plot on simulate, sweep, compare and curve, and vmsim report, through the command line."""
    pytest.importorskip("matplotlib")
    from vmsim.cli import main as cli_main

    root = Path(__file__).resolve().parents[1]
    thrash = str(root / "scenarios" / "thrashing.yaml")
    small = ["--set", "processes.0.workload.references=20000", "--set", "processes.0.count=2"]
    trace = tmp_path / "b.pages"
    trace.write_text("".join(f"{p}\n" for p in (1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5)))
    cases = [
        ["simulate", thrash, *small, "--plot", str(tmp_path / "sim.png")],
        ["sweep", thrash, "--vary", "processes.0.count=1..2", *small[:2], "--plot", str(tmp_path / "sweep.svg")],
        ["compare", str(trace), "-f", "3,4", "-p", "fifo", "--plot", str(tmp_path / "cmp.png")],
        ["curve", str(trace), "-f", "1..4", "-p", "lru", "--plot", str(tmp_path / "curve.svg")],
    ]
    for args in cases:
        assert cli_main(args) == 0, args
        assert Path(args[-1]).stat().st_size > 1000
    capsys.readouterr()
    assert cli_main(["compare", str(trace), "-f", "3,4", "-p", "fifo", "--format", "json"]) == 0
    results = tmp_path / "cmp.json"
    results.write_text(capsys.readouterr().out)
    page = tmp_path / "r.html"
    assert cli_main(["report", str(results), "--html", str(page)]) == 0
    assert "<svg" in page.read_text() and "<table" in page.read_text()
    assert cli_main(["report", str(results), "--html", str(page)]) == 2
    assert cli_main(["report", str(results), "--html", str(page), "--force"]) == 0
    assert cli_main(["simulate", thrash, *small, "--plot", str(tmp_path / "x.pdf")]) == 2
