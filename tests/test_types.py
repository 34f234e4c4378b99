"""The type checker is clean: mypy, with the configuration in pyproject.toml ([tool.mypy], the
pydantic plugin), finds no error in the package (which ships py.typed)."""

from __future__ import annotations

import pytest
from support import ROOT

api = pytest.importorskip("mypy.api", reason="mypy is not installed (it is in the test extra: pip install -e '.[test]')")


def test_mypy_is_clean() -> None:
    stdout, stderr, status = api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            str(ROOT / "vmsim"),
        ]
    )
    assert status == 0, f"mypy exited with {status}:\n{stdout}{stderr}"
