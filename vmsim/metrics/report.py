"""A self-contained HTML report of any JSON results document vmsim prints.

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

from vmsim.errors import VmsimError

__all__ = ["detect_kind", "html_report", "write_report"]

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


# ---------------------------------------------------------------------------------------------
# Detection


def _is_run(d: Any) -> bool:
    return isinstance(d, dict) and {"policy", "frames", "faults", "references"} <= d.keys() and (
        "scope" in d or "fault_rate" in d or "hits" in d
    )


def _is_curve_point(d: Any) -> bool:
    return isinstance(d, dict) and {"policy", "frames", "faults", "references"} <= d.keys()


def detect_kind(results: Any) -> str:
    """Which document this is: simulate, sweep, compare, runs, curve, or empty (an empty list)."""
    if isinstance(results, dict):
        if "global" in results and "processes" in results:
            return "simulate"
        if "runs" in results and "anomalies" in results:
            return "compare"
        if _is_run(results):
            return "runs"
    elif isinstance(results, list):
        if not results:
            return "empty"
        if all(isinstance(p, dict) and "params" in p and "global" in p for p in results):
            return "sweep"
        if all(_is_run(r) for r in results):
            return "runs"
        if all(_is_curve_point(p) for p in results):
            return "curve"
    raise VmsimError(
        "not a vmsim results document: expected the JSON of simulate, sweep, compare, refs, replay or a curve"
    )


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


_RUN_COLS = ("policy", "frames", "references", "hits", "faults", "cold_faults", "evictions", "writebacks", "fault_rate")


def _runs_tables(runs: list[dict[str, Any]]) -> list[str]:
    opt = {r["frames"]: r["faults"] for r in runs if str(r["policy"]).split(":")[0] == "opt"}
    cols = [c for c in _RUN_COLS if any(c in r for r in runs)]
    has_cpu = any(r.get("cpu_utilization") is not None for r in runs)
    rows = []
    for r in runs:
        row: list[Any] = [r.get(c) for c in cols]
        if "fault_rate" in cols:
            row[cols.index("fault_rate")] = _pct(r.get("fault_rate"))
        if has_cpu:
            row.append(_pct(r.get("cpu_utilization")))
        ref = opt.get(r["frames"])
        row.append(f"{r['faults'] / ref:.2f}x" if ref else "-")
        rows.append(row)
    headers = [*(c.replace("_", " ") for c in cols), *(["CPU utilization"] if has_cpu else []), "vs OPT"]
    out = [_section("Runs", _table(headers, rows))]
    per_proc = [(r, p) for r in runs for p in (r.get("processes") or [])]
    if per_proc:
        pcols = ("pid", "references", "hits", "faults", "cold_faults", "evictions", "writebacks")
        prow = [[r["policy"], r["frames"], *(p.get(c) for c in pcols)] for r, p in per_proc]
        out.append(_section("Per process", _table(["policy", "frames", *(c.replace("_", " ") for c in pcols)], prow)))
    if any(r.get("partial") for r in runs):
        out.insert(0, '<p class="warn">Partial results: the run was interrupted.</p>')
    return out


def _anomaly_table(anomalies: list[dict[str, Any]]) -> str:
    if not anomalies:
        return "<p>No Belady anomaly: no policy faulted more with more frames.</p>"
    rows = [[a.get("policy"), a.get("frames_from"), a.get("faults_from"), a.get("frames_to"), a.get("faults_to")]
            for a in anomalies]
    return _table(["policy", "frames", "faults", "more frames", "more faults"], rows)


def _simulate_sections(sim: dict[str, Any]) -> list[str]:
    g = sim.get("global") or {}
    th = g.get("thrashing") or {}
    verdict = "no"
    if th.get("detected"):
        since = th.get("since_s")
        verdict = f"yes, from {since:.3f} s" if isinstance(since, int | float) else "yes"
        verdict += f" ({100 * float(th.get('fraction', 0)):.0f}% of samples)"
    summary: list[tuple[str, Any]] = [
        ("scenario", str(sim.get("scenario", "-"))),
        ("seed", sim.get("seed")),
        ("policy / scope / frames", f"{g.get('policy', '-')} / {g.get('scope', '-')} / {_fmt(g.get('frames'))}"),
        ("references", g.get("references")),
        ("hits", g.get("hits")),
        ("faults", g.get("faults")),
        ("cold faults", g.get("cold_faults")),
        ("evictions", g.get("evictions")),
        ("write-backs", g.get("writebacks")),
        ("faults per 1,000 references", g.get("faults_per_1000_references")),
        ("faults per second", g.get("faults_per_second")),
        ("CPU utilization", _pct(g.get("cpu_utilization"))),
        ("paging device utilization", _pct(g.get("paging_device_utilization"))),
        ("simulated time (s)", g.get("simulated_time_s")),
        ("context switches", g.get("context_switches")),
        ("thrashing", verdict),
    ]
    out = []
    if sim.get("partial"):
        out.append('<p class="warn">Partial results: the simulation was interrupted.</p>')
    out.append(_section("Summary", _kv_table(summary)))
    procs = sim.get("processes") or []
    pcols = ("references", "hits", "faults", "cold_faults", "evictions", "writebacks", "max_rss", "running_s",
             "ready_s", "blocked_s", "suspended_s", "suspensions", "arrival_s", "finish_s")
    rows = [[p.get("name", "-"), p.get("group", "-"), p.get("pid"), *(p.get(c) for c in pcols)] for p in procs]
    headers = ["process", "group", "pid", *(c.replace("_s", " s").replace("_", " ") for c in pcols)]
    out.append(_section("Processes", _table(headers, rows, text_cols=2)))
    extra = [(str(p.get("name", "-")), p["workload"]) for p in procs if p.get("workload")]
    if extra:
        wrows = [[name, k, v] for name, w in extra for k, v in w.items()]
        out.append(_section("Workload counters", _table(["process", "counter", "value"], wrows, text_cols=2)))
    return out


_SWEEP_KEYS = ("references", "faults", "writebacks", "faults_per_1000_references", "cpu_utilization",
               "paging_device_utilization", "simulated_time_s", "context_switches")


def _sweep_sections(points: list[dict[str, Any]]) -> list[str]:
    keys = list(dict.fromkeys(k for p in points for k in (p.get("params") or {})))
    rows = []
    for p in points:
        g = p["global"]
        vals = [_pct(g.get(k)) if k.endswith("utilization") else g.get(k) for k in _SWEEP_KEYS]
        rows.append([*(p["params"].get(k) for k in keys), *vals, (g.get("thrashing") or {}).get("detected")])
    headers = [*keys, *(k.replace("_", " ") for k in _SWEEP_KEYS), "thrashing"]
    first = points[0]["global"]
    fixed = f"policy {first.get('policy', '-')} / scope {first.get('scope', '-')}"
    return [_section("Points", f"<p>{_e(fixed)}; one row per combination.</p>\n" + _table(headers, rows, text_cols=0))]


def _curve_sections(points: list[dict[str, Any]]) -> list[str]:
    has_wb = any("writebacks" in p for p in points)
    rows = []
    for p in points:
        ratio = p["faults"] / p["references"] if p["references"] else 0.0
        row = [p["policy"], p["frames"], p["references"], p["faults"], f"{ratio:.4f}"]
        rows.append([*row, p.get("writebacks")] if has_wb else row)
    headers = ["policy", "frames", "references", "faults", "miss ratio", *(["write-backs"] if has_wb else [])]
    return [_section("Points", _table(headers, rows))]


def _sections(kind: str, results: Any) -> list[str]:
    if kind == "simulate":
        return _simulate_sections(results)
    if kind == "sweep":
        return _sweep_sections(results)
    if kind == "compare":
        return [*_runs_tables(results["runs"]), _section("Belady anomalies", _anomaly_table(results["anomalies"]))]
    if kind == "runs":
        from dataclasses import asdict

        from vmsim.compare import anomalies

        found = [asdict(a) for a in anomalies(results)] if len({r["frames"] for r in results}) > 1 else []
        tables = _runs_tables(results)
        return [*tables, _section("Belady anomalies", _anomaly_table(found))] if found else tables
    if kind == "curve":
        return _curve_sections(results)
    return ["<p>The results are empty: nothing was run.</p>"]


# ---------------------------------------------------------------------------------------------
# The plot


_PROLOG = re.compile(r'\s+xmlns(:xlink)?="[^"]*"')


def _plot(kind: str, results: Any) -> str:
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


def html_report(results: Any, title: str = "vmsim report") -> str:
    """One self-contained HTML page for a results document of simulate, sweep, compare, refs,
    replay or a curve: the counters as tables and the matching plot inlined as SVG."""
    from vmsim import __version__

    kind = "runs" if isinstance(results, dict) and _is_run(results) else detect_kind(results)
    if kind == "runs" and isinstance(results, dict):
        results = [results]
    sub = _KIND_TITLES[kind]
    if kind == "simulate" and results.get("scenario"):
        sub += f": {results['scenario']}"
    version = results.get("vmsim_version", __version__) if isinstance(results, dict) else __version__
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
        _plot(kind, results),
        *_sections(kind, results),
        f"<footer>Written by vmsim {_e(version)}.</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def write_report(results_path: str | Path, out_path: str | Path, *, overwrite: bool = False,
                 title: str | None = None) -> None:
    """Read a JSON results file and write its HTML report to ``out_path``; an existing file is
    replaced only with ``overwrite=True``."""
    src, out = Path(results_path), Path(out_path)
    if out.exists() and not overwrite:
        raise VmsimError("already exists; refusing to overwrite it", source=str(out))
    try:
        text = src.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise VmsimError("no such file", source=str(src)) from e
    except (OSError, UnicodeDecodeError) as e:
        raise VmsimError(f"cannot read the results: {getattr(e, 'strerror', None) or e}", source=str(src)) from e
    try:
        results = json.loads(text)
    except json.JSONDecodeError as e:
        raise VmsimError(f"not valid JSON: {e.msg}", source=str(src), line=e.lineno) from e
    try:
        page = html_report(results, title=title or f"vmsim report: {src.name}")
    except VmsimError as e:
        if e.source is None:
            raise VmsimError(str(e), source=str(src)) from e
        raise
    try:
        out.write_text(page, encoding="utf-8")
    except OSError as e:
        raise VmsimError(f"cannot write the report: {e.strerror or e}", source=str(out)) from e
