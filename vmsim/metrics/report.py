"""A self-contained HTML report of any JSON results document vmsim prints, read back into the
results model (:func:`vmsim.metrics.schema.load_results`).

The page has no external CSS, scripts, fonts or images: tables of the counters and the matching
plot inlined as SVG (see :mod:`vmsim.metrics.plots`). Without matplotlib the tables are still
written, with a note saying how to get the plot. The same results give the same bytes.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vmsim.errors import VmsimError, check_output, read_json, replacing
from vmsim.metrics.render import gpu_lines, llm_lines, thrashing_verdict
from vmsim.metrics.schema import CompareDoc, CurvePoint, Run, RunsDoc, SimDoc, SweepDoc, load_results

__all__ = ["html_report", "kind_of", "write_report"]

Document = RunsDoc | CompareDoc | SimDoc | SweepDoc | list[CurvePoint]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:2em auto;max-width:70em;
padding:0 1em;color:#1b1b1b;background:#fff;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right;white-space:nowrap}
th{background:#f2f2f2}td.text,th.text{text-align:left}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.5em .8em}
.warn{background:#fdecea;border-left:4px solid #d93025;padding:.5em .8em}
figure{margin:1em 0}figure svg{max-width:100%;height:auto}
footer{margin-top:2em;color:#666;font-size:.85em}
""".strip()

_KIND_TITLES = {
    "simulate": "Kernel simulation",
    "sweep": "Sweep",
    "compare": "Policy comparison",
    "runs": "Replay runs",
    "curve": "Miss-ratio curve",
    "empty": "No results",
}


def kind_of(doc: Document) -> str:
    """The plot and section kind of a document: simulate, sweep, compare, runs, curve or empty."""
    if isinstance(doc, list):
        return "curve" if doc else "empty"
    if isinstance(doc, RunsDoc):
        return "runs" if doc.runs else "empty"
    return doc.command


# ---------------------------------------------------------------------------------------------
# Formatting


def _e(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, dict | list):
        return json.dumps(v, sort_keys=True)
    return str(v)


def _pct(v: Any) -> str:
    return f"{100 * v:.1f}%" if isinstance(v, int | float) and not isinstance(v, bool) else _fmt(v)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], text_cols: int = 1) -> str:
    """An HTML table; the first ``text_cols`` columns are left-aligned labels. Cells are formatted
    with _fmt unless already strings."""

    def cell(tag: str, i: int, v: Any) -> str:
        cls = ' class="text"' if i < text_cols else ""
        return f"<{tag}{cls}>{_e(v if isinstance(v, str) else _fmt(v))}</{tag}>"

    head = "<tr>" + "".join(cell("th", i, h) for i, h in enumerate(headers)) + "</tr>"
    body = "\n".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table>\n<thead>{head}</thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _kv_table(pairs: Sequence[tuple[str, Any]]) -> str:
    body = "\n".join(
        f'<tr><th class="text" scope="row">{_e(k)}</th><td class="text">{_e(v if isinstance(v, str) else _fmt(v))}</td></tr>'
        for k, v in pairs
    )
    return f"<table>\n<tbody>\n{body}\n</tbody>\n</table>"


def _section(title: str, body: str) -> str:
    return f"<h2>{_e(title)}</h2>\n{body}"


# ---------------------------------------------------------------------------------------------
# Sections per kind


_RUN_COLS = ("policy", "frames", "references", "hits", "faults", "cold_faults", "evictions", "writebacks")


def _runs_tables(runs: list[Run]) -> list[str]:
    opt = {r.frames: r.faults for r in runs if r.policy.split(":")[0] == "opt"}
    has_cpu = any(r.cpu_utilization is not None for r in runs)
    rows = []
    for r in runs:
        ref = opt.get(r.frames)
        rows.append(
            [
                *(getattr(r, c) for c in _RUN_COLS),
                _pct(r.fault_rate),
                *([_pct(r.cpu_utilization)] if has_cpu else []),
                f"{r.faults / ref:.2f}x" if ref else "-",
            ]
        )
    headers = [*(c.replace("_", " ") for c in _RUN_COLS), "fault rate", *(["CPU utilization"] if has_cpu else []), "vs OPT"]
    out = [_section("Runs", _table(headers, rows))]
    per_proc = [(r, p) for r in runs for p in (r.processes or [])]
    if per_proc:
        pcols = ("pid", *_RUN_COLS[2:])
        prow = [[r.policy, r.frames, *(getattr(p, c) for c in pcols)] for r, p in per_proc]
        out.append(_section("Per process", _table(["policy", "frames", *(c.replace("_", " ") for c in pcols)], prow)))
    for r in runs:
        if r.steps is not None:
            out.append(_section(f"Steps: {r.policy}, {r.frames} frames", _steps_table(r)))
    if any(r.partial for r in runs):
        out.insert(0, '<p class="warn">Partial results: the run was interrupted.</p>')
    return out


def _steps_table(run: Run) -> str:
    """The --explain table: one row per access, the page in each frame after it, the victim."""
    from vmsim.metrics.render import step_rows

    return _table(*step_rows(run), text_cols=0)


def _anomaly_table(doc: CompareDoc | RunsDoc) -> str:
    from vmsim.metrics.schema import anomalies

    found = doc.anomalies if isinstance(doc, CompareDoc) else anomalies(doc.runs)
    if not found:
        return "<p>No Belady anomaly: no policy faulted more with more frames.</p>"
    rows = [[a.policy, a.frames_from, a.faults_from, a.frames_to, a.faults_to] for a in found]
    return _table(["policy", "frames", "faults", "more frames", "more faults"], rows)


def _simulate_sections(sim: SimDoc) -> list[str]:
    g = sim.global_
    verdict = thrashing_verdict(g.thrashing)
    summary: list[tuple[str, Any]] = [
        ("scenario", sim.scenario),
        ("seed", sim.seed),
        ("policy / scope / frames", f"{g.policy} / {g.scope} / {_fmt(g.frames)}"),
        ("references", g.references),
        ("hits", g.hits),
        ("faults", g.faults),
        ("cold faults", g.cold_faults),
        ("evictions", g.evictions),
        ("write-backs", g.writebacks),
        ("faults per 1,000 references", g.faults_per_1000_references),
        ("faults per second", g.faults_per_second),
        ("CPU utilization", _pct(g.cpu_utilization)),
        ("paging device utilization", _pct(g.paging_device_utilization)),
        ("simulated time (s)", g.simulated_time_s),
        ("context switches", g.context_switches),
        ("thrashing", verdict),
    ]
    if g.tlb is not None:
        t = g.tlb
        summary += [
            ("TLB", f"{t.entries} entries, {t.ways}-way sets, {t.policy}, {'ASID-tagged' if t.asid else 'flushed on switch'}"),
            ("TLB hit ratio", _pct(t.hit_ratio)),
            ("effective access time (ns)", t.effective_access_ns),
            ("TLB flushes", t.flushes),
        ]
    if g.gpu is not None:
        summary += [(k, v) for k, v in gpu_lines(g.gpu)]
    if g.llm is not None:
        summary += [(k, v) for k, v in llm_lines(g.llm)]
    out = []
    if sim.partial:
        out.append('<p class="warn">Partial results: the simulation was interrupted.</p>')
    out.append(_section("Summary", _kv_table(summary)))
    pcols = (
        "references",
        "hits",
        "faults",
        "cold_faults",
        "evictions",
        "writebacks",
        "max_rss",
        "running_s",
        "ready_s",
        "blocked_s",
        "suspended_s",
        "suspensions",
        "arrival_s",
        "finish_s",
    )
    rows = [[p.name, p.group, p.pid, *(getattr(p, c) for c in pcols)] for p in sim.processes]
    headers = ["process", "group", "pid", *(c.replace("_s", " s").replace("_", " ") for c in pcols)]
    out.append(_section("Processes", _table(headers, rows, text_cols=2)))
    wrows = [[p.name, k, v] for p in sim.processes for k, v in (p.workload or {}).items()]
    if wrows:
        out.append(_section("Workload counters", _table(["process", "counter", "value"], wrows, text_cols=2)))
    return out


_SWEEP_KEYS = (
    "references",
    "faults",
    "writebacks",
    "faults_per_1000_references",
    "cpu_utilization",
    "paging_device_utilization",
    "simulated_time_s",
    "context_switches",
)


def _sweep_sections(doc: SweepDoc) -> list[str]:
    keys = list(dict.fromkeys(k for p in doc.points for k in p.params))
    rows = []
    for p in doc.points:
        g = p.global_
        vals = [_pct(getattr(g, k)) if k.endswith("utilization") else getattr(g, k) for k in _SWEEP_KEYS]
        rows.append([*(p.params.get(k) for k in keys), *vals, g.thrashing.detected])
    headers = [*keys, *(k.replace("_", " ") for k in _SWEEP_KEYS), "thrashing"]
    out = []
    if doc.partial:
        out.append('<p class="warn">Partial results: the sweep was interrupted.</p>')
    fixed = f"scenario {doc.scenario}; varied: {', '.join(doc.vary)}"
    if doc.points:
        first = doc.points[0].global_
        fixed += f"; policy {first.policy} / scope {first.scope}"
    out.append(_section("Points", f"<p>{_e(fixed)}; one row per combination.</p>\n" + _table(headers, rows, text_cols=0)))
    return out


def _curve_sections(points: list[CurvePoint]) -> list[str]:
    rows = [[p.policy, p.frames, p.references, p.faults, f"{p.miss_ratio:.4f}", p.writebacks] for p in points]
    headers = ["policy", "frames", "references", "faults", "miss ratio", "write-backs"]
    out = [_section("Points", _table(headers, rows))]
    if any(p.partial for p in points):
        out.insert(0, '<p class="warn">Partial results: the curve was interrupted.</p>')
    return out


def _sections(kind: str, doc: Document) -> list[str]:
    if isinstance(doc, SimDoc):
        return _simulate_sections(doc)
    if isinstance(doc, SweepDoc):
        return _sweep_sections(doc)
    if isinstance(doc, CompareDoc):
        return [*_runs_tables(doc.runs), _section("Belady anomalies", _anomaly_table(doc))]
    if kind == "runs" and isinstance(doc, RunsDoc):
        tables = _runs_tables(doc.runs)
        several = len({r.frames for r in doc.runs}) > 1
        return [*tables, _section("Belady anomalies", _anomaly_table(doc))] if several else tables
    if kind == "curve" and isinstance(doc, list):
        return _curve_sections(doc)
    return ["<p>The results are empty: nothing was run.</p>"]


# ---------------------------------------------------------------------------------------------
# The plot


_PROLOG = re.compile(r'\s+xmlns(:xlink)?="[^"]*"')


def _plot(kind: str, results: Document) -> str:
    """The plot as inline SVG in a <figure>, or a note saying why there is none."""
    from vmsim.metrics import plots

    if kind == "empty":
        return ""
    try:
        svg = plots.svg_text(kind, results)
    except VmsimError as e:
        return f'<p class="note">No plot: {_e(e)}</p>'
    # Inline SVG in HTML needs no namespace declarations; dropping them leaves no URL on the page.
    head, sep, rest = svg.partition(">")
    svg = _PROLOG.sub("", head) + f' role="img" aria-label="{_e(_KIND_TITLES[kind])} plot"' + sep + rest
    return f"<figure>\n{svg}\n</figure>"


# ---------------------------------------------------------------------------------------------
# Public API


def html_report(doc: Document, title: str = "vmsim report") -> str:
    """One self-contained HTML page for a results document of simulate, sweep, compare, refs,
    replay or a curve: the counters as tables and the matching plot inlined as SVG."""
    from vmsim import __version__

    kind = kind_of(doc)
    sub = _KIND_TITLES[kind]
    if isinstance(doc, SimDoc | SweepDoc):
        sub += f": {doc.scenario}"
    version = __version__ if isinstance(doc, list) else doc.vmsim_version
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
        f"<h1>{_e(title)}</h1>",
        f"<p>{_e(sub)}</p>",
        _plot(kind, doc),
        *_sections(kind, doc),
        f"<footer>Written by vmsim {_e(version)}.</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def write_report(results_path: str | Path, out_path: str | Path, *, overwrite: bool = False, title: str | None = None) -> None:
    """Read a JSON results file and write its HTML report to ``out_path``; an existing file is
    replaced only with ``overwrite=True`` (checked before anything is read), atomically."""
    src, out = Path(results_path), check_output(out_path, force=overwrite)
    results = read_json(src)
    try:
        page = html_report(load_results(results, str(src)), title=title or f"vmsim report: {src.name}")
    except VmsimError as e:
        if e.source is None:
            raise VmsimError(str(e), source=str(src)) from e
        raise
    try:
        with replacing(out) as tmp:
            tmp.write_text(page, encoding="utf-8")
    except OSError as e:
        raise VmsimError(f"cannot write the report: {e.strerror or e}", source=str(out)) from e
