"""Scenarios: the pydantic schema (models.py, units.py), YAML loading with line numbers and
overrides (loader.py), and the bridge to the kernel (build.py)."""
