"""Assertions for courses and policy authors, for use in your own pytest suites.

Fault counts of a reference string or a trace::

    from vmsim.testing import assert_faults

    def test_lru_textbook():
        assert_faults("7 0 1 2 0 3 0 4 2 3 0 3 2 1 2 0 1 7 0 1", "lru", 3, 12)

A golden file recorded once (``vmsim record golden.json TRACE... --policy ... --frames ...``, or
:func:`vmsim.golden.record` with :func:`vmsim.golden.write_golden`) and checked on every run::

    from pathlib import Path
    from vmsim.testing import check_golden

    def test_golden():
        check_golden(Path(__file__).parent / "golden.json")

``check_golden`` raises AssertionError with a table of every counter that differs, so pytest shows
it as a test failure. Inputs stored in the golden file with relative paths are found relative to
the current directory or else to the golden file's directory (see :mod:`vmsim.golden`).

Installing vmsim also registers a pytest plugin with the ``vmsim_golden`` fixture, which checks a
golden file given relative to the test file (:mod:`vmsim.pytest_plugin`)::

    def test_golden(vmsim_golden):
        vmsim_golden("golden.json")
"""

from __future__ import annotations

import re
from pathlib import Path

from vmsim.engine import replay
from vmsim.golden import CheckResult, check, diff_table
from vmsim.policies import parse_policy
from vmsim.workloads import open_trace, parse_refs

__all__ = ["assert_faults", "check_golden"]

_REFS = re.compile(r"[\s,]*\d+[wWrR]?(?:[\s,]+\d+[wWrR]?)*[\s,]*")


def _describe(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def assert_faults(
    refs_or_trace: str | Path,
    policy: str,
    frames: int,
    expected: int,
    *,
    page_size: int = 4096,
    seed: int = 0,
    trace_format: str | None = None,
) -> None:
    """Assert that ``policy`` with ``frames`` frames faults exactly ``expected`` times.

    ``refs_or_trace`` is a reference string (``"7 0 1 2w 0"``; a ``w`` suffix writes) or a path
    to a trace file (a :class:`~pathlib.Path`, or a string that is not a reference string).
    Faults include cold misses. ``page_size`` and ``trace_format`` apply to traces only.
    """
    spec = parse_policy(policy)
    if isinstance(refs_or_trace, str) and _REFS.fullmatch(refs_or_trace):
        chunk = parse_refs(refs_or_trace)
        result = replay(lambda: [chunk], spec, frames, seed=seed)
        what = _describe(refs_or_trace)
    else:
        result = replay(open_trace(refs_or_trace, trace_format, page_size), spec, frames, seed=seed)
        what = f"trace {str(refs_or_trace)!r}"
    if result.faults != expected:
        raise AssertionError(
            f"{spec.label} with {frames} frame{'s' if frames != 1 else ''} on {what}: "
            f"expected {expected} faults, got {result.faults}"
        )


def check_golden(path: str | Path) -> CheckResult:
    """Re-run every run of a golden file; raise AssertionError with the diff table if any counter
    differs. Returns the CheckResult when everything matches."""
    result = check(path)
    if not result.ok:
        n = len(result.diffs)
        raise AssertionError(
            f"{path}: {n} counter{'s' if n != 1 else ''} differ{'s' if n == 1 else ''} from the golden file "
            f"({result.runs} runs checked):\n{diff_table(result)}"
        )
    return result
