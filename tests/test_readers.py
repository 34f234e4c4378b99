"""The safe YAML and JSON readers (vmsim.readers): hostile input is one line, never a traceback."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmsim import readers
from vmsim.cli import main
from vmsim.errors import VmsimError, read_json
from vmsim.readers import MAX_DEPTH, MAX_INT_DIGITS, MAX_NODES, load_json, load_yaml, read_text
from vmsim.scenario.loader import apply_override, grid, read_yaml

ROOT = Path(__file__).resolve().parents[1]
Lines = dict[tuple[str | int, ...], int]

BILLION_LAUGHS = "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n" + "".join(
    f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)


def _compose_lines(node: yaml.Node, path: tuple[str | int, ...], lines: Lines) -> None:
    """The line map as loader.py computed it before vmsim.readers (the reference)."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            k = key.value
            lines[(*path, k)] = key.start_mark.line + 1
            _compose_lines(value, (*path, k), lines)
            lines[(*path, k)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _compose_lines(item, (*path, i), lines)


def yaml_error(text: str, source: str = "scn.yaml") -> VmsimError:
    with pytest.raises(VmsimError) as info:
        load_yaml(text, source)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message
    return info.value


def json_error(text: str, source: str = "f.json") -> VmsimError:
    with pytest.raises(VmsimError) as info:
        load_json(text, source)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message
    return info.value


# ------------------------------------------------------------------------------ the shipped files


SHIPPED = sorted([*ROOT.glob("scenarios/**/*.yaml"), *ROOT.glob("docs/**/*.yaml")])


def test_there_are_shipped_files() -> None:
    assert len(SHIPPED) >= 10


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_same_data_and_lines_as_safe_load(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    data, lines = load_yaml(text, str(path))
    assert data == yaml.safe_load(text)
    expected: Lines = {}
    _compose_lines(yaml.compose(text, Loader=yaml.SafeLoader), (), expected)
    assert lines == expected
    assert list(lines) == list(expected)


EQUIVALENT = [
    "",
    "a: 1\nb: [x, 2.5, null, true, 2001-12-14, 0x1f, 0o17, 1_000, ~, .inf, '1', \"s\"]\n",
    "a:\n  - b: 1\n    c: {d: [1, {e: f}]}\n  - [g, h]\n",
    "a: &x [1, {b: 2}]\nc: *x\nd: [*x, *x]\n",
    "'1': a\n1: b\n",  # the same raw key: the later one's lines win, as before
    "a: |\n  text\n  more\nb: >\n  folded\n",
    "= : 1\nb: !!str 5\nc: !!binary aGVsbG8=\n",
    "\ufeffa: 1\n",
    "a: 1\r\nb:\r\n  - 2\r\n",
    "- 1\n- - 2\n  - 3\n",
    "just a string",
]


@pytest.mark.parametrize("text", EQUIVALENT)
def test_same_as_safe_load_on_small_documents(text: str) -> None:
    data, lines = load_yaml(text, "s.yaml")
    assert data == yaml.safe_load(text)
    expected: Lines = {}
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if node is not None:
        _compose_lines(node, (), expected)
    assert lines == expected


def test_an_alias_is_the_same_object_as_its_anchor() -> None:
    data, _ = load_yaml("a: &x [1]\nb: *x\n", "s.yaml")
    assert data["a"] is data["b"]


# ------------------------------------------------------------------------------ hostile YAML


def test_recursive_alias() -> None:
    e = yaml_error("name: x\na: &r [*r]\n")
    assert str(e) == "scn.yaml:2: invalid YAML: alias *r refers to itself (it is inside &r)"
    assert e.line == 2 and e.source == "scn.yaml"
    assert "refers to itself" in str(yaml_error("a: &m\n  b: *m\n"))


def test_billion_laughs_fails_fast() -> None:
    start = time.perf_counter()
    e = yaml_error(BILLION_LAUGHS)
    assert time.perf_counter() - start < 1
    assert f"aliases expand to more than {MAX_NODES:,} nodes" in str(e) and e.line is not None


def test_aliases_cannot_nest_past_the_depth_bound() -> None:
    chain = "a0: &a0 " + "[" * 60 + "x" + "]" * 60 + "\n" + "a1: &a1 " + "[" * 60 + "*a0" + "]" * 60 + "\n"
    assert f"deeper than {MAX_DEPTH} levels" in str(yaml_error(chain))


@pytest.mark.parametrize(
    "text",
    [
        "[" * 900 + "]" * 900,
        "- " * 900 + "x\n",
        "{a: " * 900 + "1" + "}" * 900,
        "a:\n" + "".join("  " * i + "- \n" for i in range(1, 300)),
    ],
    ids=["flow-list", "block-list", "flow-map", "indented"],
)
def test_deep_nesting(text: str) -> None:
    e = yaml_error(text)
    assert f"nested deeper than {MAX_DEPTH} levels" in str(e) and e.line is not None


def test_nesting_at_the_bound_is_fine() -> None:
    data, _ = load_yaml("[" * MAX_DEPTH + "]" * MAX_DEPTH, "s.yaml")
    for _ in range(MAX_DEPTH - 1):
        data = data[0]
    assert data == []


def test_many_nodes_without_aliases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "MAX_NODES", 50)
    assert "more than 50 values" in str(yaml_error("a:\n" + "- 1\n" * 60))
    assert len(load_yaml("[" + "1," * 40 + "]", "s.yaml")[0]) == 40


@pytest.mark.parametrize(
    ("text", "line", "char", "column"),
    [
        ("name: x\nmemory: 1\nfoo: \x00bar\n", 3, "U+0000", 6),
        ("\x01", 1, "U+0001", 1),
        ("a: 1\nb: '\x1b[31m'\n", 2, "U+001B", 5),
        ("a: 1\r\nb: \x7f\n", 2, "U+007F", 4),
        ("a: \x85\n", 1, "U+0085", 4),
        ("a: 1\nb: x\ufeff\n", 2, "U+FEFF", 5),
    ],
)
def test_control_characters(text: str, line: int, char: str, column: int) -> None:
    e = yaml_error(text)
    assert (
        str(e) == f"scn.yaml:{line}: invalid YAML: control character {char} at column {column}"
        or str(e) == f"scn.yaml:{line}: invalid YAML: invalid character {char} at column {column}"
    )
    assert e.line == line


def test_tab_and_a_leading_bom_are_fine() -> None:
    assert load_yaml("\ufeffa: 'x\ty'\n", "s.yaml")[0] == {"a": "x\ty"}


def test_duplicate_keys() -> None:
    text = "name: x\nseed: 1\nmemory: 1\nkernel: {}\nprocesses: []\nx: 1\nmemory: 2\n"
    e = yaml_error(text)
    assert str(e) == "scn.yaml:7: duplicate key 'memory' (first at line 3)"
    assert str(yaml_error("a:\n  1: x\n  0x1: y\n")) == "scn.yaml:3: duplicate key 1 (first at line 2)"
    assert "duplicate key 'b'" in str(yaml_error("a: {b: 1, b: 2}"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1" + "0" * 5000, f"an integer of more than {MAX_INT_DIGITS:,} digits"),
        ("a: 0x" + "f" * 4000, f"an integer of more than {MAX_INT_DIGITS:,} digits"),
        ("a: 2001-13-45", "cannot read '2001-13-45' as !!timestamp: month must be in 1..12"),
        ("<<: {a: 1}", "merge keys (<<) are not supported"),
        ("? [a]\n: 1", "a mapping key must be a plain value"),
        ("a: !!set {x, y}", "the tag !!set is not supported on a mapping"),
        ("a: !!python/tuple [1]", "is not supported on a list"),
        ("a: !foo 1", "could not determine a constructor for the tag '!foo'"),
        ("a: 1\n---\nb: 2", "expected a single document in the stream"),
        ("name: x\nprocesses: [\n", "invalid YAML"),
        ("a: b: c", "mapping values are not allowed here"),
        ("a: *nope", "found undefined alias 'nope'"),
        ("a: &x 1\nb: &x 2", "found duplicate anchor 'x'"),
    ],
    ids=lambda v: repr(v)[:24],
)
def test_other_bad_yaml_is_one_line(text: str, message: str) -> None:
    e = yaml_error(text)
    assert message in str(e) and e.line is not None


def test_big_integers_below_the_bound_are_fine() -> None:
    assert load_yaml("a: " + "9" * MAX_INT_DIGITS, "s.yaml")[0]["a"] == 10**MAX_INT_DIGITS - 1


# ------------------------------------------------------------------------------ --set and --vary


def test_set_values_go_through_the_reader() -> None:
    data: dict[str, Any] = {}
    apply_override(data, "a=[1, {b: 2}]")
    apply_override(data, "c=not: yaml: at all")  # not YAML: taken as a plain string, as before
    assert data == {"a": [1, {"b": 2}], "c": "not: yaml: at all"}
    bomb = BILLION_LAUGHS.replace("\n", ", ").rstrip(", ")
    for value, message in [
        ("{" + bomb + "}", "aliases expand to more than"),
        ("[" * 900, "nested deeper than"),
        ("&r [*r]", "refers to itself"),
        ("{a: 1, a: 2}", "duplicate key 'a'"),
    ]:
        with pytest.raises(VmsimError) as info:
            apply_override({}, f"x.y={value}")
        assert str(info.value).startswith("--set x.y: ") and message in str(info.value)
        assert "\n" not in str(info.value)
    with pytest.raises(VmsimError, match=r"^--vary a: invalid YAML: nested deeper than"):
        grid(["a=1,[[[[" + "[" * 200])


# ------------------------------------------------------------------------------ hostile JSON


def test_deep_json() -> None:
    e = json_error("[" * 900 + "]" * 900)
    assert str(e) == f"f.json:1: invalid JSON: nested deeper than {MAX_DEPTH} levels (column {MAX_DEPTH + 1})"
    assert "nested deeper" in str(json_error('{"a":\n' * 900 + "1" + "}" * 900))
    assert load_json('"' + "[" * 900 + '"', "f.json") == "[" * 900  # brackets in a string are text
    assert load_json("[" * MAX_DEPTH + "]" * MAX_DEPTH, "f.json") is not None


def test_long_integers_in_json() -> None:
    e = json_error('{\n  "a": 1' + "0" * 5000 + "}")
    assert str(e) == f"f.json:2: invalid JSON: an integer of more than {MAX_INT_DIGITS:,} digits (column 8)"
    assert load_json("9" * MAX_INT_DIGITS, "f.json") == 10**MAX_INT_DIGITS - 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("NaN", "f.json:1: invalid JSON: NaN is not a JSON number (column 1)"),
        ('{"a": [1,\n Infinity]}', "f.json:2: invalid JSON: Infinity is not a JSON number (column 2)"),
        ('["NaN", -Infinity]', "f.json:1: invalid JSON: -Infinity is not a JSON number (column 9)"),
        ("[1e400]", "f.json:1: invalid JSON: the number 1e400 is too large (column 2)"),
        ('{"a": 1,}', "f.json:1: invalid JSON: Expecting property name enclosed in double quotes (column 9)"),
        ("\x00", "f.json:1: invalid JSON: Expecting value (column 1)"),
    ],
)
def test_not_json(text: str, message: str) -> None:
    assert str(json_error(text)) == message


def test_a_leading_bom_is_fine_in_json() -> None:
    assert load_json('\ufeff{"a": 1}', "f.json") == {"a": 1}


# ------------------------------------------------------------------------------ files


def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(VmsimError, match=r"nope\.json: no such file$"):
        read_json(tmp_path / "nope.json")
    with pytest.raises(VmsimError, match=r": no such answers file$"):
        read_json(tmp_path / "nope.json", "answers file")
    with pytest.raises(VmsimError, match=r": is a directory, not a scenario file$"):
        read_yaml(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"name: x\nseed: \xff\n")
    with pytest.raises(VmsimError) as info:
        read_text(bad)
    assert str(info.value) == f"{bad}:2: cannot read: not UTF-8 text (byte 0xff at column 7)"
    with pytest.raises(VmsimError, match="not UTF-8"):
        read_yaml(bad)
    with pytest.raises(VmsimError, match="not UTF-8"):
        read_json(bad)


def test_a_scenario_is_a_mapping(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text("- 1\n")
    with pytest.raises(VmsimError, match="a scenario is a YAML mapping"):
        read_yaml(f)


@pytest.mark.parametrize(
    ("command", "name", "text", "message"),
    [
        ("validate", "bomb.yaml", BILLION_LAUGHS, "aliases expand to more than 1,000,000 nodes"),
        ("simulate", "nul.yaml", "name: x\n\x00", ":2: invalid YAML: control character U+0000 at column 1"),
        ("report", "deep.json", "[" * 900, "invalid JSON: nested deeper than 100 levels"),
        ("check", "big.json", "1" * 5000, "invalid JSON: an integer of more than 4,300 digits"),
    ],
    ids=lambda v: repr(v)[:24],
)
def test_the_cli_prints_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, name: str, text: str, message: str
) -> None:
    f = tmp_path / name
    f.write_text(text)
    start = time.perf_counter()
    extra = ["--html", str(tmp_path / "out.html")] if command == "report" else []
    assert main([command, str(f), *extra]) == 2
    assert time.perf_counter() - start < 5
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and str(f) in err


# ------------------------------------------------------------------------------ any text at all

ANY_TEXT = settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
YAMLISH = st.text(alphabet=st.sampled_from(list("[]{}:,-?&*!|>'\"#%@ \n\tab01.e<=~\r\x00\u2028")), max_size=80)


def _one_line_or_data(read: Any, text: str) -> None:
    try:
        read(text, "x")
    except VmsimError as e:
        assert "\n" not in str(e) and "\r" not in str(e)


@ANY_TEXT
@given(text=st.one_of(st.text(), YAMLISH))
def test_any_text_is_data_or_one_line(text: str) -> None:
    _one_line_or_data(load_yaml, text)
    _one_line_or_data(load_json, text)
