"""The scenario JSON schema (``vmsim schema``) documents every model and every field, for editors."""

from __future__ import annotations

from typing import Any

from vmsim.scenario.models import Scenario


def _described(prop: dict[str, Any], defs: dict[str, Any]) -> bool:
    """A property is described directly, or through the definition it refers to (a ``$ref`` or,
    for a union, every member that is an object definition)."""
    if prop.get("description"):
        return True
    if "$ref" in prop:
        return bool(defs[prop["$ref"].rsplit("/", 1)[-1]].get("description"))
    for key in ("anyOf", "oneOf", "allOf"):
        members = [m for m in prop.get(key, ()) if "$ref" in m]
        if members and all(_described(m, defs) for m in members):
            return True
    return False


def _missing(schema: dict[str, Any]) -> list[str]:
    defs = schema.get("$defs", {})
    missing: list[str] = []
    for name, d in [("Scenario", schema), *defs.items()]:
        if d.get("type") != "object" and "properties" not in d:
            continue
        if not d.get("description"):
            missing.append(f"{name} (model)")
        for pname, prop in d.get("properties", {}).items():
            if not _described(prop, defs):
                missing.append(f"{name}.{pname}")
    return missing


def test_every_model_and_field_has_a_description() -> None:
    schema = Scenario.model_json_schema()
    assert schema.get("$defs"), "the scenario schema has no $defs"
    missing = _missing(schema)
    assert not missing, f"{len(missing)} without a description: {', '.join(missing)}"


def test_nested_model_fields_carry_their_own_description() -> None:
    props = Scenario.model_json_schema()["properties"]
    for key in ("machine", "kernel", "processes"):
        assert props[key].get("description"), key
