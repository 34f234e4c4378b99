"""Scenario models (pydantic) and YAML loading: arrives with the SimPy kernel (issue 3)."""
