"""Loading a scenario: YAML with line numbers, ``--set`` overrides, then validation.

Normalise (parse YAML, apply overrides), validate (pydantic), and only then build and run. A
validation error becomes one VmsimError naming the file, the line and the field.
"""

from __future__ import annotations

import copy
import difflib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from vmsim.errors import OptionError, ScenarioError, VmsimError
from vmsim.limits import MAX_RANGE
from vmsim.readers import YAMLSyntaxError, load_yaml, read_text
from vmsim.scenario.models import TAGS, Scenario

Lines = dict[tuple[str | int, ...], int]


def read_yaml(path: Path) -> tuple[dict[str, Any], Lines]:
    """The document as plain data, and the line of every key and item (:func:`load_yaml`)."""
    data, lines = load_yaml(read_text(path, "scenario file"), str(path))
    if not isinstance(data, dict):
        raise VmsimError("a scenario is a YAML mapping with keys name, seed, machine, kernel, processes", source=str(path))
    return data, lines


def apply_override(data: dict[str, Any], assignment: str) -> None:
    """Apply ``PATH=VALUE`` (VALUE read as YAML) to nested data, e.g. ``processes.0.count=4``."""
    path, sep, raw = assignment.partition("=")
    if not sep or not path.strip():
        raise VmsimError(f"--set takes PATH=VALUE (e.g. kernel.replacement.policy=fifo), got {assignment!r}")
    try:
        value = load_yaml(raw, "--set")[0] if raw.strip() else raw
    except YAMLSyntaxError:
        value = raw  # not YAML: a plain string
    except VmsimError as e:
        raise VmsimError(f"--set {path.strip()}: {e.reason}") from None
    _set_value(data, path, value)


def _set_value(data: dict[str, Any], path: str, value: Any) -> None:
    keys = path.strip().split(".")
    node: Any = data
    for i, key in enumerate(keys):
        last = i == len(keys) - 1
        where = ".".join(keys[: i + 1])
        if isinstance(node, list):
            if not (key.isascii() and key.isdigit()) or int(key) >= len(node):
                raise VmsimError(f"--set {path}: {where} is not an item of a list of {len(node)}")
            if last:
                node[int(key)] = value
            else:
                node = node[int(key)]
        elif isinstance(node, dict):
            if last:
                node[key] = value
            else:
                node = node.setdefault(key, {})
        else:
            raise VmsimError(f"--set {path}: {'.'.join(keys[:i])} is a value, not a mapping or list")


def _field_names(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """Valid keys at the mapping that holds ``loc``'s last key (``loc`` as pydantic gives it, with
    the tags of tagged unions), for a spelling suggestion."""
    current: Any = model
    parts = list(loc[:-1])
    i = 0
    while i < len(parts):
        part = parts[i]
        i += 1
        if isinstance(part, int) or current is None:
            continue
        fields = getattr(current, "model_fields", {})
        if part not in fields:
            return []
        members = _models_in(fields[part].annotation)
        current = members[0] if members else None
        if i < len(parts) and isinstance(parts[i], str) and len(members) > 1:
            tagged = [
                m
                for m in members
                # every member of a tagged union has a Literal ``kind``
                if parts[i] in getattr(m.model_fields.get("kind"), "annotation", None).__args__  # type: ignore[union-attr]
            ]
            if tagged:
                current = tagged[0]
                i += 1
    return list(getattr(current, "model_fields", {})) if current is not None else []


def _models_in(ann: Any) -> list[Any]:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return [ann]
    out: list[Any] = []
    for arg in getattr(ann, "__args__", ()):
        out.extend(_models_in(arg))
    return out


def _describe(err: dict[str, Any]) -> str:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p in TAGS))
    field = ".".join(str(p) for p in loc) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        name = str(loc[-1])
        valid = _field_names(Scenario, tuple(err["loc"]))
        close = difflib.get_close_matches(name, valid, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else (f"; valid keys: {', '.join(valid)}" if valid else "")
        return f"{field}: unknown key {name!r}{hint}"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        tag = ctx.get("tag")
        expected = ctx.get("expected_tags", "")
        names = [t.strip().strip("'") for t in str(expected).split(",")]
        close = difflib.get_close_matches(str(tag), names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"{field}.kind: unknown kind {tag!r}; valid kinds: {', '.join(names)}{hint}"
    if kind == "missing":
        return f"{field}: required key is missing"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return f"{field}: {msg}"


def _line_of(loc: tuple[Any, ...], lines: Lines) -> int | None:
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def validate(data: dict[str, Any], source: str, lines: Lines | None = None) -> Scenario:
    """Validate plain data as a Scenario; the first error becomes one VmsimError."""
    try:
        return Scenario.model_validate(data, context={"base_dir": str(Path(source).parent)})
    except ValidationError as e:
        # A misspelt key also makes the intended one "missing": name the misspelling first.
        rank = {"extra_forbidden": 0, "union_tag_invalid": 1, "missing": 3}
        errors = sorted(e.errors(), key=lambda err: rank.get(err["type"], 2))
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        loc = tuple(first["loc"])
        field = ".".join(str(k) for k in loc if not (isinstance(k, str) and k in TAGS)) or None
        raise ScenarioError(_describe(dict(first)) + more, source=source, line=_line_of(loc, lines or {}), field=field) from None


def checked(data: dict[str, Any], source: str, lines: Lines | None = None, thorough: bool = False) -> Scenario:
    """Validate, then build what a run would build (``build.check``): any error, the schema's or
    a workload's, is one VmsimError naming the file, the line and the field."""
    from vmsim.scenario.build import check

    sc = validate(data, source, lines)
    try:
        check(sc, thorough)
    except VmsimError as e:
        if e.source is not None:
            raise
        loc = tuple(int(k) if k.isdecimal() else k for k in e.field.split(".")) if e.field else ()
        raise e.at(source, _line_of(loc, lines or {}) if loc else None, e.field) from None
    return sc


def load_scenario(path: str | Path, overrides: list[str] | None = None, thorough: bool = False) -> Scenario:
    """Read, override, validate and check (``thorough``: as ``vmsim validate`` does). Nothing
    runs until this has succeeded."""
    p = Path(path)
    data, lines = read_yaml(p)
    for assignment in overrides or []:
        apply_override(data, assignment)
    return checked(data, str(p), lines, thorough)


def _values(text: str, path: str) -> list[Any]:
    if ".." in text and "," not in text:
        lo, _, hi = text.partition("..")
        try:
            a, b = int(lo), int(hi)
        except ValueError:
            raise VmsimError(f"--vary {path}: a range is written A..B with whole numbers, got {text!r}") from None
        if b < a:
            raise VmsimError(f"--vary {path}: the range {text!r} is empty")
        if b - a >= MAX_RANGE:
            raise OptionError(f"--vary {path}: the range {text!r} has more than {MAX_RANGE:,} values", field="--vary")
        return list(range(a, b + 1))
    out = []
    for part in text.split(","):
        try:
            out.append(load_yaml(part, "--vary")[0] if part.strip() else part)
        except YAMLSyntaxError:
            out.append(part)  # not YAML: a plain string
        except VmsimError as e:
            raise VmsimError(f"--vary {path}: {e.reason}") from None
    return out


def grid(vary: list[str]) -> list[dict[str, Any]]:
    """Every combination of the ``PATH=values`` assignments, in order (last varies fastest)."""
    axes: list[tuple[str, list[Any]]] = []
    for item in vary:
        path, sep, text = item.partition("=")
        if not sep or not path.strip() or not text.strip():
            raise VmsimError(f"--vary takes PATH=V1,V2,... or PATH=A..B, got {item!r}")
        axes.append((path.strip(), _values(text, path.strip())))
    total = 1
    for _, values in axes:
        total *= len(values)
        if total > MAX_RANGE:
            raise OptionError(f"--vary: the grid has more than {MAX_RANGE:,} points", field="--vary")
    points: list[dict[str, Any]] = [{}]
    for path, values in axes:
        points = [{**p, path: v} for p in points for v in values]
    return points


def load_grid(path: str | Path, overrides: list[str], points: list[dict[str, Any]]) -> list[Scenario]:
    """Validate every grid point before any runs (one bad value stops the sweep up front)."""
    p = Path(path)
    data, lines = read_yaml(p)
    for assignment in overrides:
        apply_override(data, assignment)
    out = []
    for point in points:
        d = copy.deepcopy(data)
        for key, value in point.items():
            _set_value(d, key, value)
        out.append(checked(d, str(p), lines))
    return out


def check_cpu_memory(sc: Scenario, source: str, command: str) -> None:
    """``command``'s runs vary machine.memory and kernel.replacement.policy, which a machine.gpu run does
    not use (its device memory is machine.gpu's): refuse it in one line rather than print runs
    that differ in nothing."""
    from vmsim.scenario.build import serves

    if sc.machine.gpu is not None:
        hint = "processes.0.workload.kv.manager=paged,contiguous" if serves(sc) else "machine.gpu.oversubscription=1.0,1.25,1.5"
        raise ScenarioError(
            f"{command} runs vary machine.memory and kernel.replacement.policy, which a machine.gpu run does not use; "
            f"vary the GPU run instead: vmsim sweep ... --vary {hint}",
            source=source,
            field="machine.gpu",
        )
