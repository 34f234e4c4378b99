"""Fixtures shared by the test modules (the plain helpers they share are in support.py; no test
module imports another)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support import TRACES


@pytest.fixture
def traces() -> Path:
    """The shared lackey traces' directory (../shared/traces beside the repository, or
    VMSIM_TRACES); a test that needs it is skipped where it is absent."""
    if not TRACES.is_dir():
        pytest.skip(f"the shared traces are not at {TRACES}")
    return TRACES


@pytest.fixture
def libcachesim() -> Any:
    """libCacheSim, skipped only in the tests that take this fixture."""
    return pytest.importorskip("libcachesim")
