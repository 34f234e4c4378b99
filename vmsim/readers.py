"""Reading user-supplied YAML and JSON safely: any input is data or one :class:`VmsimError`.

PyYAML and the standard ``json`` module are fine for trusted text but not for anything a user (or
a fuzzer) hands vmsim: a recursive alias or deep nesting ends in ``RecursionError``, a 500-byte
"billion laughs" file expands to billions of nodes, a NUL byte gives a two-line message without a
line, duplicate keys are silently dropped, and a 5,000-digit integer is a ``ValueError``. The
readers here put a bound on each, checked *before* the work it limits, and turn every failure into
one :class:`~vmsim.errors.VmsimError` with the file, the line and a one-line message.

Bounds (module constants):

``MAX_DEPTH = 100``
    Nesting of lists and mappings (YAML after alias expansion, and JSON). Scenarios nest about
    six levels; 100 leaves room for any real document while keeping every later recursive walk
    (PyYAML's composer, ``copy.deepcopy``, pydantic, ``json.loads``) far inside Python's
    recursion limit of 1,000 frames.
``MAX_NODES = 1_000_000``
    Values (scalars, lists, mappings, mapping keys) of a YAML document *after* alias expansion.
    Scenarios have hundreds; a million still reads in a few seconds, while a billion laughs
    (9 levels of 9 aliases: over 400 million nodes from a few hundred bytes) is refused from the
    node graph alone, in milliseconds, before anything is expanded.
``MAX_INT_DIGITS = 4_300``
    Decimal digits of an integer (YAML and JSON): Python's own limit for converting between
    ``int`` and ``str`` (``sys.get_int_max_str_digits``), past which such a number could not
    even be printed in an error message.

YAML is composed once (PyYAML's pure-Python composer, with the depth, node and recursive-alias
checks added) and the data is then built from the node graph without recursion. Scalars resolve
exactly as :func:`yaml.safe_load` resolves them (SafeLoader's own constructors); an alias gives
the same Python object as its anchor, as safe_load does. Not supported, each a clear error with
its line: merge keys (``<<: *base``; write the keys out), the tags ``!!set``, ``!!omap`` and
``!!pairs`` (and any tag safe_load does not know), non-scalar mapping keys, duplicate keys.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import yaml

from vmsim.errors import VmsimError

#: Nesting of lists and mappings (see the module docstring for the reasons).
MAX_DEPTH = 100
#: YAML values after alias expansion.
MAX_NODES = 1_000_000
#: Decimal digits of an integer.
MAX_INT_DIGITS = 4_300

Lines = dict[tuple[str | int, ...], int]

_INT_LIMIT = 10**MAX_INT_DIGITS
_YAML_TAG = "tag:yaml.org,2002:"
_SEQ, _MAP, _INT = _YAML_TAG + "seq", _YAML_TAG + "map", _YAML_TAG + "int"
_MERGE, _VALUE = _YAML_TAG + "merge", _YAML_TAG + "value"
#: C0 and C1 controls but tab, LF and CR; DEL; surrogates; U+FFFE, U+FFFF; U+FEFF (a BOM, fine
#: only as the first character). A superset of what PyYAML's reader refuses.
_BAD_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufeff\ufffe\uffff]")
_LINE_BREAK = re.compile("\r\n|[\r\n\u2028\u2029]")


class YAMLSyntaxError(VmsimError):
    """Text that is not YAML as PyYAML reads it (a syntax error, an unknown tag, an unhashable
    key): what :func:`yaml.safe_load` itself refuses. A ``--set`` value that is not YAML is taken
    as a plain string; every other failure of :func:`load_yaml` is an error there too."""


def read_text(path: str | Path, what: str = "file") -> str:
    """A UTF-8 text file's contents (newlines normalised as :meth:`Path.read_text` does); a file
    that is missing, a directory, unreadable or not UTF-8 is one VmsimError naming it. ``what``
    names the file in "no such ..." and "is a directory, not a ..."."""
    p = Path(path)
    src = str(p)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise VmsimError(f"no such {what}", source=src) from None
    except IsADirectoryError:
        raise VmsimError(f"is a directory, not a {what}", source=src) from None
    except PermissionError:
        raise VmsimError("cannot read: permission denied", source=src) from None
    except OSError as e:
        raise VmsimError(f"cannot read: {e.strerror or e}", source=src) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        column = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise VmsimError(
            f"cannot read: not UTF-8 text (byte 0x{raw[e.start]:02x} at column {column})", source=src, line=line
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


# ----------------------------------------------------------------------------------------- YAML


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _where(text: str, pos: int) -> tuple[int, int]:
    """(line, column), both from 1, of ``pos`` in ``text``, counting line breaks as YAML does."""
    line, start = 1, 0
    for m in _LINE_BREAK.finditer(text, 0, pos):
        line, start = line + 1, m.end()
    return line, pos - start + 1


def _check_chars(text: str, source: str) -> None:
    """Refuse the first control character (or other character YAML cannot hold), with its line."""
    m = _BAD_CHAR.search(text, 1 if text.startswith("\ufeff") else 0)
    if m is None:
        return
    char = m.group()
    line, column = _where(text, m.start())
    kind = "control character" if char <= "\x9f" else "invalid character"
    raise VmsimError(f"invalid YAML: {kind} U+{ord(char):04X} at column {column}", source=source, line=line)


def _yaml_error(e: yaml.YAMLError, source: str) -> VmsimError:
    """One-line YAMLSyntaxError from PyYAML's error, at its problem mark's line."""
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    problem = getattr(e, "problem", None)
    context = getattr(e, "context", None)
    if problem is None and context is None:
        return YAMLSyntaxError(f"invalid YAML: {_one_line(str(e))}", source=source)
    parts = []
    if context:
        cmark = getattr(e, "context_mark", None)
        here = cmark is None or mark is None or cmark.line == mark.line
        parts.append(context if here or cmark is None else f"{context} (line {cmark.line + 1})")
    if problem:
        parts.append(problem)
    where = f" (column {mark.column + 1})" if mark is not None else ""
    return YAMLSyntaxError(
        f"invalid YAML: {_one_line(', '.join(parts))}{where}", source=source, line=mark.line + 1 if mark is not None else None
    )


class _Loader(yaml.SafeLoader):
    """SafeLoader whose composer refuses nesting past MAX_DEPTH, more than MAX_NODES nodes and an
    alias inside its own anchor, before its recursion could go deep."""

    def __init__(self, text: str, source: str) -> None:
        super().__init__(text)
        self.source = source
        self.depth = 0
        self.nodes = 0
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None and target.end_mark is None:  # still being composed
                raise VmsimError(
                    f"invalid YAML: alias *{event.anchor} refers to itself (it is inside &{event.anchor})",
                    source=self.source,
                    line=event.start_mark.line + 1,  # type: ignore[union-attr]  # parsed events always carry marks
                )
            self.aliases += 1
            return super().compose_node(parent, index)
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise VmsimError(f"invalid YAML: more than {MAX_NODES:,} values", source=self.source, line=event.start_mark.line + 1)
        if not isinstance(event, yaml.CollectionStartEvent):
            return super().compose_node(parent, index)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise VmsimError(
                f"invalid YAML: nested deeper than {MAX_DEPTH} levels",
                source=self.source,
                line=event.start_mark.line + 1,  # type: ignore[union-attr]  # parsed events always carry marks
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_YAML_TAG) :] if tag.startswith(_YAML_TAG) else tag


def _scalar(loader: _Loader, node: yaml.ScalarNode, source: str) -> Any:
    """The value safe_load gives a scalar node; a value it cannot hold is a VmsimError."""
    line = node.start_mark.line + 1
    if node.tag == _INT and len(node.value) > MAX_INT_DIGITS and sum(c.isdigit() for c in node.value) > MAX_INT_DIGITS:
        raise VmsimError(f"invalid YAML: an integer of more than {MAX_INT_DIGITS:,} digits", source=source, line=line)
    try:
        value = loader.construct_object(node, deep=True)
    except yaml.YAMLError as e:
        raise _yaml_error(e, source) from None
    except Exception as e:  # e.g. a timestamp with month 13: safe_load lets the ValueError out
        text = node.value if len(node.value) <= 40 else node.value[:37] + "..."
        raise VmsimError(
            f"invalid YAML: cannot read {text!r} as {_tag_name(node.tag)}: {_one_line(str(e))}", source=source, line=line
        ) from None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= _INT_LIMIT:
        raise VmsimError(f"invalid YAML: an integer of more than {MAX_INT_DIGITS:,} digits", source=source, line=line)
    return value


def _build(loader: _Loader, root: yaml.Node, source: str) -> Any:
    """The data of a composed (acyclic) node graph, built bottom-up with an explicit stack; each
    node's expanded size and depth are checked against the bounds before anything is expanded."""
    built: dict[int, tuple[Any, int, int]] = {}  # id(node) -> (value, expanded nodes, depth)
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in built:
            continue
        line = node.start_mark.line + 1
        if isinstance(node, yaml.ScalarNode):
            built[id(node)] = (_scalar(loader, node, source), 1, 0)
            continue
        expected = _SEQ if isinstance(node, yaml.SequenceNode) else _MAP
        if node.tag != expected:
            kind = "list" if expected == _SEQ else "mapping"
            raise YAMLSyntaxError(
                f"invalid YAML: the tag {_tag_name(node.tag)} is not supported on a {kind}", source=source, line=line
            )
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        else:
            children = []
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    raise YAMLSyntaxError(
                        "invalid YAML: a mapping key must be a plain value, not a list or mapping",
                        source=source,
                        line=key.start_mark.line + 1,
                    )
                if key.tag == _MERGE:
                    raise VmsimError(
                        "invalid YAML: merge keys (<<) are not supported; write the keys out",
                        source=source,
                        line=key.start_mark.line + 1,
                    )
                children.extend((value,) if key.tag == _VALUE else (key, value))
        if not children_done:
            stack.append((node, True))
            stack.extend((c, False) for c in reversed(children) if id(c) not in built)
            continue
        size = 1 + sum(built[id(c)][1] for c in children)
        depth = 1 + max((built[id(c)][2] for c in children), default=0)
        if size > MAX_NODES:
            what = "aliases expand to" if loader.aliases else "the document has"
            raise VmsimError(f"invalid YAML: {what} more than {MAX_NODES:,} nodes", source=source, line=line)
        if depth > MAX_DEPTH:
            raise VmsimError(f"invalid YAML: aliases nest deeper than {MAX_DEPTH} levels", source=source, line=line)
        if isinstance(node, yaml.SequenceNode):
            data: Any = [built[id(c)][0] for c in children]
        else:
            data = {}
            first: dict[Any, int] = {}
            for key, value in node.value:
                k = key.value if key.tag == _VALUE else built[id(key)][0]
                key_line = key.start_mark.line + 1
                if k in first:
                    shown = repr(k) if len(repr(k)) <= 60 else repr(k)[:57] + "..."
                    raise VmsimError(f"duplicate key {shown} (first at line {first[k]})", source=source, line=key_line)
                first[k] = key_line
                data[k] = built[id(value)][0]
        built[id(node)] = (data, size, depth)
    return built[id(root)][0]


def _lines(root: yaml.Node) -> Lines:
    """The line of every key and item path, as the old recursive ``_compose_lines`` gave it (a
    mapping value's path maps to its key's line), walking aliases, with an explicit stack."""
    lines: Lines = {}
    stack: list[tuple[yaml.Node, tuple[str | int, ...], int]] = [(root, (), root.start_mark.line + 1)]
    while stack:
        node, path, line = stack.pop()
        lines[path] = line
        if isinstance(node, yaml.MappingNode):
            stack.extend((value, (*path, key.value), key.start_mark.line + 1) for key, value in reversed(node.value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*path, i), item.start_mark.line + 1) for i, item in reversed(list(enumerate(node.value))))
    return lines


def load_yaml(text: str, source: str) -> tuple[Any, Lines]:
    """The one YAML document in ``text`` as :func:`yaml.safe_load` gives it, and the line (from 1)
    of every key and item path (``("processes", 0, "workload")``; a key's path maps to the key's
    line). Anything that cannot be read, or exceeds a bound, is one VmsimError at ``source``."""
    _check_chars(text, source)
    loader = _Loader(text, source)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, {}
        return _build(loader, root, source), _lines(root)
    except yaml.YAMLError as e:
        raise _yaml_error(e, source) from None
    except RecursionError:
        raise VmsimError(f"invalid YAML: nested too deep (the limit is {MAX_DEPTH} levels)", source=source) from None
    finally:
        loader.dispose()


# ----------------------------------------------------------------------------------------- JSON


class _Refused(Exception):
    """Raised by a json.loads hook for a number vmsim does not accept."""

    def __init__(self, kind: str, token: str) -> None:
        super().__init__(token)
        self.kind = kind
        self.token = token


def _parse_int(s: str) -> int:
    if len(s) - s.startswith("-") > MAX_INT_DIGITS:
        raise _Refused("int", s)
    return int(s)


def _parse_float(s: str) -> float:
    value = float(s)
    if not math.isfinite(value):
        raise _Refused("float", s)
    return value


def _parse_constant(s: str) -> Any:
    raise _Refused("constant", s)


_JSON_BRACKETS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.S)
_JSON_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|-?Infinity|NaN|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?', re.S)


def _json_where(text: str, pos: int) -> tuple[int, int]:
    """(line, column), both from 1, as json.JSONDecodeError counts them."""
    return text.count("\n", 0, pos) + 1, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _too_deep(text: str) -> int | None:
    """Where JSON text first nests deeper than MAX_DEPTH (brackets inside strings skipped)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    depth = 0
    for m in _JSON_BRACKETS.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return m.start()
        elif c in "]}":
            depth = max(depth - 1, 0)
    return None


def _refused_at(text: str, refused: _Refused) -> int:
    """Where the number a hook refused is: the first such token outside strings."""
    for m in _JSON_TOKENS.finditer(text):
        if m.group() == refused.token:
            return m.start()
    return 0


def load_json(text: str, source: str) -> Any:
    """JSON text as :func:`json.loads` gives it (a leading BOM allowed), refusing nesting past
    MAX_DEPTH, integers of more than MAX_INT_DIGITS digits and numbers that are not finite (NaN,
    Infinity, 1e400); every failure one VmsimError with the line and column."""
    text = text.removeprefix("\ufeff")
    pos = _too_deep(text)
    if pos is not None:
        line, column = _json_where(text, pos)
        raise VmsimError(f"invalid JSON: nested deeper than {MAX_DEPTH} levels (column {column})", source=source, line=line)
    try:
        return json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)
    except json.JSONDecodeError as e:
        raise VmsimError(f"invalid JSON: {_one_line(e.msg)} (column {e.colno})", source=source, line=e.lineno) from None
    except _Refused as e:
        line, column = _json_where(text, _refused_at(text, e))
        if e.kind == "int":
            reason = f"an integer of more than {MAX_INT_DIGITS:,} digits"
        elif e.kind == "float":
            reason = f"the number {e.token if len(e.token) <= 40 else e.token[:37] + '...'} is too large"
        else:
            reason = f"{e.token} is not a JSON number"
        raise VmsimError(f"invalid JSON: {reason} (column {column})", source=source, line=line) from None
    except RecursionError:
        raise VmsimError(f"invalid JSON: nested too deep (the limit is {MAX_DEPTH} levels)", source=source) from None


def read_json(path: str | Path, what: str = "file") -> Any:
    """A JSON file's contents: :func:`read_text` then :func:`load_json`."""
    return load_json(read_text(path, what), str(Path(path)))
