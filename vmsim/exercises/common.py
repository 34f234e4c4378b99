"""What every exercise kind shares: the problem record, option parsing, random picks, text helpers.

An exercise is built in three steps, as scenarios are: the options the user gave are parsed and
validated (every one, before anything is solved), the parameters left out are filled in from one
seeded ``random.Random``, and the completed parameters are solved. The parameters are always
complete in the output, so a random problem can be posed again with explicit numbers.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from vmsim.errors import VmsimError

Params = dict[str, Any]
Answer = dict[str, Any]
Answers = list[Answer]
Summary = dict[str, Any] | None


@dataclass(frozen=True)
class Problem:
    """One posed exercise: its complete parameters, the answers and both renderings."""

    kind: str
    seed: int
    params: Params
    answers: Answers
    summary: Summary
    #: The problem statement as text (what a student is given).
    statement: str
    #: The answers as text (what ``--solve`` adds).
    solution: str
    #: The command that poses the same problem with every parameter explicit ("" when they all were).
    command: str = ""

    def to_dict(self, solve: bool) -> dict[str, Any]:
        """``{"kind", "seed", "params"}`` and, when solved, ``"answers"`` (and ``"summary"``)."""
        out: dict[str, Any] = {"kind": self.kind, "seed": self.seed, "params": self.params}
        if solve:
            out["answers"] = self.answers
            if self.summary is not None:
                out["summary"] = self.summary
        return out

    def to_json(self, solve: bool) -> str:
        """The problem as JSON; with ``solve``, its answers too."""
        return json.dumps(self.to_dict(solve), indent=2)

    def to_text(self, solve: bool) -> str:
        """The problem as text to hand out; with ``solve``, its answers too."""
        parts = [self.statement]
        if solve:
            parts.append(self.solution)
            if self.command:
                parts.append("The same problem with every parameter explicit:\n  " + self.command)
        return "\n\n".join(p.rstrip("\n") for p in parts)


class KindModule(Protocol):
    """A module that defines one exercise kind: :meth:`Kind.of` reads the kind from these names."""

    #: The module's dotted name; its last part is the kind's name (``vmsim exercise NAME``).
    __name__: str

    @property
    def TITLE(self) -> str:
        """The first line of the statement."""

    @property
    def SUMMARY(self) -> str:
        """One line for the list of kinds."""

    @property
    def OPTIONS(self) -> tuple[str, ...]:
        """The options (as spelt on the command line) the kind accepts besides --seed/--solve/--format."""

    def build(self, opts: Options, rng: random.Random) -> Params:
        """Parse and validate the given options, fill the rest from the generator: complete params."""

    def solve(self, p: Params, seed: int) -> tuple[Answers, Summary]:
        """Answers (one per address, access or operation) and an optional summary."""

    def statement(self, p: Params, seed: int) -> str:
        """The problem statement as text: what a student is given."""

    def solution(self, p: Params, answers: Answers, summary: Summary) -> str:
        """The worked answers as text, for ``--solve``."""

    def command(self, p: Params, seed: int) -> list[str]:
        """The explicit options that pose the same problem again."""


@dataclass(frozen=True)
class Kind:
    """An exercise kind: its options and the functions that build, solve and render it (see :class:`KindModule`)."""

    name: str
    title: str
    summary: str
    options: tuple[str, ...]
    build: Callable[[Options, random.Random], Params]
    solve: Callable[[Params, int], tuple[Answers, Summary]]
    statement: Callable[[Params, int], str]
    solution: Callable[[Params, Answers, Summary], str]
    command: Callable[[Params, int], list[str]]

    @classmethod
    def of(cls, module: KindModule) -> Kind:
        """The kind that ``module`` defines."""
        return cls(
            module.__name__.rsplit(".", 1)[-1],
            module.TITLE,
            module.SUMMARY,
            module.OPTIONS,
            module.build,
            module.solve,
            module.statement,
            module.solution,
            module.command,
        )


# --------------------------------------------------------------------------- option parsing

_NUMBER = re.compile(r"(0x[0-9a-f]+|[0-9]+)", re.IGNORECASE)
_SIZE = re.compile(r"(0x[0-9a-f]+|[0-9]+)\s*(?:([kmg])(?:i?b)?|b)?", re.IGNORECASE)
_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def parse_number(option: str, text: str) -> int:
    """A non-negative integer in decimal or ``0x`` hex."""
    text = text.strip()
    if not _NUMBER.fullmatch(text):
        raise VmsimError(f"{option} takes a number in decimal or 0x hex, got {text!r}")
    return int(text, 0) if text.lower().startswith("0x") else int(text)


def parse_size(option: str, text: str) -> int:
    """A size in bytes: ``1024``, ``0x400``, ``16k``, ``16KiB``, ``1m``, ``1g`` (units are powers of 1024)."""
    m = _SIZE.fullmatch(text.strip())
    if not m:
        raise VmsimError(f"{option} takes a size in bytes: 1024, 0x400, 16k or 1m, got {text!r}")
    value = int(m.group(1), 0) if m.group(1).lower().startswith("0x") else int(m.group(1))
    return value * _UNITS[m.group(2).lower()] if m.group(2) else value


def parse_addresses(option: str, text: str) -> list[int]:
    """Addresses separated by commas (or spaces), each decimal or ``0x`` hex."""
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    if not parts:
        raise VmsimError(f"{option} needs at least one address (a,b,... in decimal or 0x hex)")
    out = []
    for p in parts:
        if not _NUMBER.fullmatch(p):
            raise VmsimError(f"{option}: {p!r} is not an address (decimal or 0x hex)")
        out.append(int(p, 0) if p.lower().startswith("0x") else int(p))
    return out


def is_power_of_two(n: int) -> bool:
    """Whether ``n`` is a positive power of two."""
    return n > 0 and n & (n - 1) == 0


class Options:
    """The options a user gave (``{"--asize": "1k", ...}``), parsed on demand with errors naming them."""

    def __init__(self, given: Mapping[str, object]) -> None:
        self.given = dict(given)

    def has(self, name: str) -> bool:
        """Whether the option was given."""
        return name in self.given

    def text(self, name: str) -> str | None:
        """The option's value as given, or None."""
        v = self.given.get(name)
        return None if v is None else str(v)

    def _int(self, name: str, parse: Callable[[str, str], int], positive: bool) -> int | None:
        t = self.text(name)
        if t is None:
            return None
        v = parse(name, t)
        if positive and v <= 0:
            raise VmsimError(f"{name} must be positive, got {t!r}")
        return v

    def size(self, name: str, *, positive: bool = True) -> int | None:
        """A size in bytes (units allowed); ``positive`` refuses 0."""
        return self._int(name, parse_size, positive)

    def number(self, name: str, *, positive: bool = False) -> int | None:
        """A whole number (``positive`` refuses 0), or None if not given."""
        return self._int(name, parse_number, positive)

    def real(self, name: str) -> float | None:
        """A non-negative number of nanoseconds (decimals allowed)."""
        t = self.text(name)
        if t is None:
            return None
        try:
            v = float(t)
        except ValueError:
            raise VmsimError(f"{name} takes a number (of nanoseconds), got {t!r}") from None
        if not v >= 0 or v == float("inf"):
            raise VmsimError(f"{name} must be a finite number >= 0, got {t!r}")
        return v

    def choice(self, name: str, choices: Sequence[str]) -> str | None:
        """One of ``choices``, or None if not given."""
        t = self.text(name)
        if t is None:
            return None
        if t.lower() not in choices:
            raise VmsimError(f"{name} takes one of {', '.join(choices)}, got {t!r}")
        return t.lower()

    def flag(self, name: str) -> bool | None:
        """A yes/no option, or None if not given."""
        v = self.given.get(name)
        return None if v is None else bool(v)

    def addresses(self, name: str, space: int, space_option: str) -> list[int] | None:
        """A list of addresses, each inside ``[0, space)``."""
        t = self.text(name)
        if t is None:
            return None
        out = parse_addresses(name, t)
        for a in out:
            if a >= space:
                raise VmsimError(f"{name}: address {a} (0x{a:x}) is outside the address space of {space} bytes ({space_option})")
        return out

    def addresses_or_drawn(self, space: int, space_option: str, count: int, draw: Callable[[int], list[int]]) -> list[int]:
        """``--addresses`` when given, else ``draw(n)`` of ``--count`` (default ``count``) random ones: every kind's fallback."""
        given = self.addresses("--addresses", space, space_option)
        return draw(self.count(count)) if given is None else given

    def count(self, default: int) -> int:
        """``--count``: how many random addresses, accesses or operations to draw."""
        n = self.number("--count", positive=True)
        if n is None:
            return default
        if n > 1000:
            raise VmsimError(f"--count must be at most 1000, got {n}")
        return n


# --------------------------------------------------------------------------- random picks

Ranges = Sequence[tuple[int, int]]


def _total(ranges: Ranges) -> int:
    return sum(max(0, hi - lo) for lo, hi in ranges)


def pick_in(rng: random.Random, ranges: Ranges) -> int:
    """A value drawn uniformly from the union of the half-open ``ranges`` (at least one non-empty)."""
    k = rng.randrange(_total(ranges))
    for lo, hi in ranges:
        if hi > lo:
            if k < hi - lo:
                return lo + k
            k -= hi - lo
    raise AssertionError("unreachable")


def pick_addresses(rng: random.Random, n: int, valid: Ranges, invalid: Ranges) -> list[int]:
    """``n`` addresses, each valid or invalid with probability one half (when both kinds exist)."""
    out = []
    for _ in range(n):
        pool = valid if rng.random() < 0.5 else invalid
        if _total(pool) == 0:
            pool = invalid if pool is valid else valid
        out.append(pick_in(rng, pool))
    return out


# --------------------------------------------------------------------------- text helpers


def hex_width(*limits: int) -> int:
    """Hex digits needed to show every address below the largest of ``limits``."""
    top = max(max(limits) - 1, 1)
    return max(2, (top.bit_length() + 3) // 4)


def hx(value: int, width: int) -> str:
    """``value`` in hex with a ``0x`` prefix, zero-padded to ``width`` digits."""
    return f"0x{value:0{width}x}"


def va_label(i: int, va: int, width: int) -> str:
    """``VA[i] 0x.. (decimal ..)``: how statements and answers name the ``i``-th virtual address."""
    return f"VA[{i}] {hx(va, width)} (decimal {va})"


def address_prompts(addresses: Sequence[int], width: int, question: str) -> list[str]:
    """The statement's lines asking about each address: ``VA[i] 0x.. (decimal ..) --> <question>``."""
    return [f"  {va_label(i, va, width)} --> {question}" for i, va in enumerate(addresses)]


def size_text(n: int) -> str:
    """``16k``-style size for commands and statements (exact: a suffix only when it divides)."""
    for suffix, unit in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
        if n >= unit and n % unit == 0:
            return f"{n // unit}{suffix}"
    return str(n)


def human(n: int) -> str:
    """``16 KiB (16384 bytes)``, or ``100 bytes``."""
    for suffix, unit in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= unit and n % unit == 0:
            return f"{n // unit} {suffix} ({n} bytes)"
    return f"{n} byte{'s' if n != 1 else ''}"


def address_list(addresses: Sequence[int]) -> str:
    """Addresses as a comma-separated hex list, as ``--addresses`` takes them."""
    return ",".join(f"0x{a:x}" for a in addresses)


#: Parameters re-posed as sizes (``16k``) rather than plain numbers.
_SIZE_PARAMS = frozenset({"asize", "psize", "page_size"})


def option_args(p: Params, *keys: str) -> list[str]:
    """``--key value`` for each parameter in ``keys`` (``_`` spelt ``-``), so re-pose commands spell
    them alike: sizes ``16k``-style, ``addresses`` as a hex list, anything else through ``str``."""
    out: list[str] = []
    for key in keys:
        value = p[key]
        text = size_text(value) if key in _SIZE_PARAMS else address_list(value) if key == "addresses" else str(value)
        out += ["--" + key.replace("_", "-"), text]
    return out


def shell_command(kind: str, args: Sequence[str]) -> str:
    """``vmsim exercise KIND --opt value ...`` with values quoted only if they need it."""
    out = ["vmsim", "exercise", kind]
    for a in args:
        out.append(a if re.fullmatch(r"[\w.,:/+=-]+", a) else "'" + a.replace("'", "'\\''") + "'")
    return " ".join(out)
