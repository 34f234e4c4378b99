"""The pytest plugin vmsim registers (entry point ``pytest11``): the ``vmsim_golden`` fixture.

A course's or a policy author's test checks a golden file in one line::

    def test_my_policy(vmsim_golden):
        vmsim_golden("golden.json")          # relative to this test file

The fixture re-runs every run of the file (see :mod:`vmsim.golden`) and fails the test with the
table of counters that differ. vmsim itself is imported only when a test uses the fixture.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from vmsim.golden import CheckResult


@pytest.fixture
def vmsim_golden(request: pytest.FixtureRequest) -> Callable[[str | Path], CheckResult]:
    """Check a golden file: ``vmsim_golden(path)``, a relative path being relative to the test's
    own file. Returns the CheckResult when every counter matches."""
    here = Path(str(request.path)).parent

    def check(path: str | Path) -> CheckResult:
        from vmsim.testing import check_golden

        p = Path(path)
        return check_golden(p if p.is_absolute() else here / p)

    return check
