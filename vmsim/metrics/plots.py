"""Plots of the JSON results vmsim prints (see docs/results.schema.json), with matplotlib.

Each ``plot_*`` function takes a results document (:mod:`vmsim.metrics.schema`, what
``--format json`` prints) and a path ending in ``.png`` or ``.svg``. matplotlib is an optional extra (``vmsim[plot]``),
imported on first use; figures are drawn without pyplot (no global state, no display needed) on
the Agg canvas, under matplotlib's default style so a user's matplotlibrc does not change them.
SVG output is deterministic: the same data gives the same bytes.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from vmsim.errors import VmsimError, replacing

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from vmsim.metrics.schema import Anomaly, CompareDoc, CurvePoint, Run, RunsDoc, SimDoc, SweepDoc

__all__ = [
    "MISSING_MATPLOTLIB",
    "check_plot_path",
    "plot_compare",
    "plot_curve",
    "plot_runs",
    "plot_simulation",
    "plot_sweep",
    "svg_text",
]

MISSING_MATPLOTLIB = "plots need matplotlib: pip install 'vmsim[plot]'"

_FORMATS = {".png": "png", ".svg": "svg"}
_RC = {"svg.hashsalt": "vmsim", "svg.fonttype": "path", "figure.dpi": 100, "savefig.dpi": 100}
_OPT_STYLE: dict[str, Any] = {"color": "black", "linestyle": "--", "linewidth": 1.5, "marker": None}
_MAX_LEGEND = 12

Builder = Callable[[Any, "type[Figure]"], "Figure"]


# ---------------------------------------------------------------------------------------------
# Saving


def _format_of(path: str | Path) -> str:
    fmt = _FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise VmsimError("a plot is written as .png or .svg; give a file name ending in one of them", source=str(path))
    return fmt


def check_plot_path(path: str | Path) -> str:
    """Before a run that will be plotted: the path ends in .png or .svg and matplotlib is installed,
    or a VmsimError. Returns the format."""
    fmt = _format_of(path)
    _matplotlib()
    return fmt


def _matplotlib() -> Any:
    """The matplotlib package, or a VmsimError saying how to install it."""
    try:
        import matplotlib
        import matplotlib.figure
        import matplotlib.style
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    except ImportError as e:
        raise VmsimError(MISSING_MATPLOTLIB) from e
    return matplotlib


def _render(build: Builder, data: Any, target: str | Path | BinaryIO, fmt: str) -> None:
    """Build the figure from ``data`` and save it to ``target`` (a path or a binary buffer)."""
    mpl = _matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with mpl.style.context("default"), mpl.rc_context(_RC):
        fig = build(data, Figure)
        FigureCanvasAgg(fig)
        metadata = {"Date": None} if fmt == "svg" else None
        try:
            fig.savefig(target, format=fmt, metadata=metadata)
        except OSError as e:
            raise VmsimError(f"cannot write the plot: {e.strerror or e}", source=str(target)) from e


def _save(build: Builder, data: Any, path: str | Path) -> None:
    """Draw to a temporary file beside ``path``, then rename it into place: an interrupted or
    failed plot never leaves half a file where ``path`` was."""
    fmt = _format_of(path)
    try:
        with replacing(path) as tmp:
            _render(build, data, tmp, fmt)
    except VmsimError as e:
        if e.source is not None and e.source != str(path):  # name the user's path, not the temporary one
            raise VmsimError(str(e).removeprefix(f"{e.source}: "), source=str(path)) from e
        raise
    except OSError as e:
        raise VmsimError(f"cannot write the plot: {e.strerror or e}", source=str(path)) from e


def svg_text(kind: str, data: Any) -> str:
    """The plot of ``kind`` (simulate, sweep, compare, runs or curve) as an SVG element, without the
    XML prolog and metadata, ready to inline in HTML."""
    builders: dict[str, Builder] = {
        "simulate": _simulation_figure,
        "sweep": _sweep_figure,
        "compare": _compare_figure,
        "runs": _runs_figure,
        "curve": _curve_figure,
    }
    buf = io.BytesIO()
    _render(builders[kind], data, buf, "svg")
    text = buf.getvalue().decode("utf-8")
    start = text.find("<svg")
    text = text[start:] if start >= 0 else text
    return re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.DOTALL).strip()


# ---------------------------------------------------------------------------------------------
# Helpers


def _require(items: Sequence[Any] | None, what: str) -> Sequence[Any]:
    if not items:
        raise VmsimError(f"nothing to plot: {what}")
    return items


def _legend(ax: Axes, **kwargs: Any) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    if len(handles) > _MAX_LEGEND:
        handles, labels = handles[:_MAX_LEGEND], labels[:_MAX_LEGEND]
        labels[-1] = f"{labels[-1]} (first {_MAX_LEGEND} shown)"
    ax.legend(handles, labels, fontsize="small", ncol=2 if len(handles) > 6 else 1, **kwargs)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _base_policy(label: str) -> str:
    return label.split(":", 1)[0].lower()


def _by_policy(runs: Sequence[Any], value: Callable[[Any], float]) -> dict[str, list[tuple[int, float]]]:
    """policy -> [(frames, value)] sorted by frames, policies in the order they first appear."""
    out: dict[str, list[tuple[int, float]]] = {}
    for r in runs:
        out.setdefault(r.policy, []).append((r.frames, value(r)))
    for points in out.values():
        points.sort()
    return out


def _policy_lines(ax: Axes, series: dict[str, list[tuple[int, float]]]) -> None:
    """One line per policy; OPT drawn last, dashed black, as the floor every policy stays above."""
    for policy, points in series.items():
        if _base_policy(policy) == "opt":
            continue
        xs, ys = zip(*points)
        ax.plot(xs, ys, marker="o", markersize=4, label=policy)
    for policy, points in series.items():
        if _base_policy(policy) == "opt":
            xs, ys = zip(*points)
            ax.plot(xs, ys, label=f"{policy} (floor)", zorder=3, **_OPT_STYLE)
    frames = sorted({f for points in series.values() for f, _ in points})
    if len(frames) <= 16:
        ax.set_xticks(frames)
    ax.set_xlabel("frames")
    ax.grid(True, alpha=0.3)


# ---------------------------------------------------------------------------------------------
# Figures


def _simulation_figure(sim: SimDoc, figure: type[Figure]) -> Figure:
    samples = _require(sim.samples, "the simulation has no samples")
    names = [p.name for p in sim.processes]
    width = max(max(len(s.rss), len(s.working_set)) for s in samples)
    names += [f"process {j}" for j in range(len(names), width)]
    t = [s.t_s for s in samples]

    fig = figure(figsize=(9, 9), layout="constrained")
    ax_faults, ax_rss, ax_ws = fig.subplots(3, 1, sharex=True)
    ax_faults.plot(t, [s.faults for s in samples], color="tab:red", label="faults")
    ax_faults.set_ylabel("faults per sample")
    ax_faults.grid(True, alpha=0.3)
    ax_cpu = ax_faults.twinx()
    llm = sim.global_.llm
    busy = "GPU compute" if sim.global_.gpu is not None else "GPU busy" if llm is not None else "CPU utilization"
    ax_cpu.plot(t, [100 * s.cpu_utilization for s in samples], color="tab:blue", linewidth=1, alpha=0.7, label=busy)
    ax_cpu.set_ylabel(f"{busy} (%)")
    ax_cpu.set_ylim(0, 105)
    h1, l1 = ax_faults.get_legend_handles_labels()
    h2, l2 = ax_cpu.get_legend_handles_labels()
    ax_faults.legend(h1 + h2, l1 + l2, fontsize="small", loc="upper right")

    gpu = sim.global_.gpu
    rss_label = "resident set (pages)" if gpu is None else "resident on the GPU (units)"
    panels = [(ax_rss, "rss", rss_label if llm is None else "KV blocks the running sequences hold")]
    if llm is not None:  # a serving run: the batch, and the host link's busy share
        ax_ws.plot(t, [s.active for s in samples], color="tab:green", linewidth=1.2, label="sequences running")
        ax_ws.set_ylabel("sequences running")
        ax_ws.grid(True, alpha=0.3)
        ax_link = ax_ws.twinx()
        ax_link.plot(t, [100 * s.paging_device_utilization for s in samples], color="tab:purple", linewidth=1, alpha=0.7)
        ax_link.set_ylabel("host link busy (%)")
        ax_link.set_ylim(0, 105)
    elif gpu is None:
        panels.append((ax_ws, "working_set", "working set (pages)"))
    else:  # a GPU run has no working sets: its link's busy share instead
        ax_ws.plot(t, [100 * s.paging_device_utilization for s in samples], color="tab:purple", linewidth=1.2)
        ax_ws.set_ylabel("host link busy (%)")
        ax_ws.set_ylim(0, 105)
        ax_ws.grid(True, alpha=0.3)
    for ax, key, label in panels:
        for j, name in enumerate(names):
            ys = [getattr(s, key)[j] if j < len(getattr(s, key)) else float("nan") for s in samples]
            ax.plot(t, ys, linewidth=1.2, label=name)
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    if llm is not None:
        ax_rss.axhline(sim.global_.frames, color="gray", linestyle="--", linewidth=1, label="KV pool (blocks)")
    _legend(ax_rss, loc="upper left")
    ax_ws.set_xlabel("simulated time (s)")

    g = sim.global_
    title = f"{sim.scenario}: {g.policy} / {g.scope}, {g.frames} frames"
    if g.gpu is not None:
        gpu_name = g.gpu.preset or "GPU"
        title = f"{sim.scenario}: {gpu_name} at {100 * g.gpu.oversubscription:.0f}%, {g.policy} eviction, {g.frames} units"
    if g.llm is not None:
        title = f"{sim.scenario}: {g.llm.model} on {g.llm.gpu}, KV manager {g.llm.manager}"
    if g.thrashing.detected:
        title += " (thrashing)"
    fig.suptitle(title)
    return fig


_DEGREE = re.compile(r"^processes\.\d+\.count$")


def _sweep_figure(doc: SweepDoc, figure: type[Figure]) -> Figure:
    points = list(_require(doc.points, "the sweep has no points"))
    keys = list(points[0].params)
    if not keys:
        raise VmsimError("nothing to plot: the sweep points have no varied parameters")
    xkey, rest = keys[0], keys[1:]
    xs_all = [p.params.get(xkey) for p in points]
    numeric = all(_is_number(x) for x in xs_all)
    categories = list(dict.fromkeys(map(str, xs_all)))

    # A GPU sweep plots what its user asks about: the slowdown against the job on a GPU it fits.
    slowdowns = [p.global_.gpu.slowdown if p.global_.gpu is not None else None for p in points]
    gpu = None not in slowdowns
    groups: dict[str, list[tuple[Any, float]]] = {}
    for p, slow in zip(points, slowdowns, strict=True):
        label = ", ".join(f"{k}={p.params.get(k)}" for k in rest)
        x = p.params.get(xkey)
        pos = x if numeric else categories.index(str(x))
        groups.setdefault(label, []).append((pos, slow if gpu and slow is not None else 100 * p.global_.cpu_utilization))

    fig = figure(figsize=(8, 5), layout="constrained")
    ax = fig.subplots()
    for label, series in groups.items():
        series.sort(key=lambda xy: xy[0])
        xs, ys = zip(*series)
        ax.plot(xs, ys, marker="o", markersize=4, label=label or None)
    if not numeric:
        ax.set_xticks(range(len(categories)), categories)
    elif len(set(xs_all)) <= 16 and all(isinstance(x, int) for x in xs_all):
        ax.set_xticks(sorted(set(xs_all)))
    if gpu:
        ax.set_yscale("log")
        ax.set_ylabel("slowdown against the job on a GPU it fits (x)")
    else:
        ax.set_ylim(0, 105)
        ax.set_ylabel("CPU utilization (%)")
    degree = bool(_DEGREE.match(xkey))
    ax.set_xlabel(f"degree of multiprogramming ({xkey})" if degree else xkey)
    ax.grid(True, alpha=0.3)
    if rest:
        _legend(ax, title=", ".join(rest), loc="best")
    if gpu:
        ax.set_title(f"GPU kernel slowdown against {xkey}")
    else:
        ax.set_title("CPU utilization against degree of multiprogramming" if degree else f"CPU utilization against {xkey}")
    return fig


def _faults_figure(runs: Sequence[Run], anomalies: Sequence[Anomaly], figure: type[Figure]) -> Figure:
    runs = list(_require(runs, "there are no runs"))
    fig = figure(figsize=(8, 5), layout="constrained")
    ax = fig.subplots()
    _policy_lines(ax, _by_policy(runs, lambda r: float(r.faults)))
    if anomalies:
        ax.scatter(
            [a.frames_to for a in anomalies],
            [a.faults_to for a in anomalies],
            s=120,
            facecolors="none",
            edgecolors="red",
            linewidths=2,
            zorder=4,
            label="Belady anomaly",
        )
        for a in anomalies:
            ax.annotate(
                f"{a.policy}: {a.faults_from}\u2192{a.faults_to}",
                (a.frames_to, a.faults_to),
                xytext=(6, 6),
                textcoords="offset points",
                fontsize="small",
                color="red",
            )
    ax.set_ylabel("faults")
    ax.set_ylim(bottom=0)
    _legend(ax, loc="best")
    ax.set_title("Faults against frames" + (f" ({len(anomalies)} Belady anomalies)" if anomalies else ""))
    return fig


def _compare_figure(doc: CompareDoc, figure: type[Figure]) -> Figure:
    return _faults_figure(doc.runs, doc.anomalies, figure)


def _runs_figure(doc: RunsDoc, figure: type[Figure]) -> Figure:
    from vmsim.metrics.schema import anomalies

    return _faults_figure(doc.runs, anomalies(doc.runs), figure)


def _curve_figure(points: Sequence[CurvePoint], figure: type[Figure]) -> Figure:
    points = list(_require(points, "the curve has no points"))
    fig = figure(figsize=(8, 5), layout="constrained")
    ax = fig.subplots()
    _policy_lines(ax, _by_policy(points, lambda p: p.miss_ratio))
    ax.set_ylabel("miss ratio (faults / references)")
    ax.set_ylim(0, 1.05)
    _legend(ax, loc="best")
    ax.set_title("Miss-ratio curve")
    return fig


# ---------------------------------------------------------------------------------------------
# Public API


def plot_simulation(sim: SimDoc, path: str | Path) -> None:
    """`simulate --format json`: faults per sample (with CPU utilization), then resident set and
    working set over time, one line per process (for a GPU run: units resident and the host link's busy share)."""
    _save(_simulation_figure, sim, path)


def plot_sweep(doc: SweepDoc, path: str | Path) -> None:
    """`sweep --format json`: CPU utilization (a GPU sweep: the slowdown, log scale) against the
    first varied parameter, one line per value of the others."""
    _save(_sweep_figure, doc, path)


def plot_compare(doc: CompareDoc, path: str | Path) -> None:
    """`compare --format json`: faults against frames per policy, OPT dashed as the floor, Belady
    anomalies circled."""
    _save(_compare_figure, doc, path)


def plot_runs(doc: RunsDoc, path: str | Path) -> None:
    """`refs`/`replay --format json`: as plot_compare, anomalies found here."""
    _save(_runs_figure, doc, path)


def plot_curve(points: Sequence[CurvePoint], path: str | Path) -> None:
    """Curve points: miss ratio against frames per policy,
    OPT dashed as the floor."""
    _save(_curve_figure, points, path)
