"""Grading exercise answers against an answer key, for ``vmsim check KEY.json --answers FILE``.

The key is what ``vmsim exercise KIND ... --solve --format json`` prints: the kind, the seed, the
parameters (which pose the problem again exactly) and the answers. Checking a key first solves
its problem again and compares, so a key written by another vmsim that would now answer
differently is reported, not trusted. A student's answers are a JSON list with one object per
address, access or operation (or a document with an ``"answers"`` list): every field the kind
requires is compared, and any other field of the key the student also gives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from vmsim.errors import VmsimError

__all__ = ["REQUIRED", "Mismatch", "check_answers", "is_key", "mismatch_table"]

#: The fields a student must give for each answer, by kind.
REQUIRED: dict[str, tuple[str, ...]] = {
    "relocation": ("vaddr", "valid", "paddr"),
    "segmentation": ("vaddr", "valid", "paddr"),
    "linear": ("vaddr", "valid", "paddr"),
    "multilevel": ("vaddr", "valid", "paddr"),
    "tlb": ("vaddr", "hit"),
    "freelist": ("addr",),
}


@dataclass(frozen=True)
class Mismatch:
    """One field of one answer that differs: ``item`` is the answer's index (0-based)."""

    item: int
    field: str
    expected: Any
    got: Any


def is_key(doc: Any) -> bool:
    """An exercise answer key (``--solve --format json``) rather than a golden file."""
    return isinstance(doc, dict) and doc.get("kind") in REQUIRED and "params" in doc and "answers" in doc


def _check_params(kind: Any, key: dict[str, Any], source: str) -> None:
    """A key's problem is one ``vmsim exercise`` could pose: its params, written back as the
    options that pose it (``Kind.command``) and validated as those options are, come out the
    same. So a key cannot ask the solver for what the options refuse (a TLB of 10**30 entries)."""
    import random

    from vmsim.exercises.common import Options

    seed = key.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise VmsimError(f'not a valid {kind.name} answer key: "seed" is a whole number', source=source)
    try:
        args = kind.command(key["params"], seed)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as e:
        raise VmsimError(f"not a valid {kind.name} answer key: {type(e).__name__}: {e}", source=source) from None
    args = [str(a) for a in args]
    if "FILE" in args:  # a problem over a memory image (multilevel): its options name a file
        return
    given: dict[str, object] = {}
    i = 0
    while i < len(args):
        if i + 1 < len(args) and not args[i + 1].startswith("--"):
            given[args[i]] = args[i + 1]
            i += 2
        else:
            given[args[i]] = True
            i += 1
    try:
        rebuilt = kind.build(Options(given), random.Random(seed))
    except VmsimError as e:
        raise VmsimError(f"not a valid {kind.name} answer key: {e}", source=source) from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as e:
        raise VmsimError(f"not a valid {kind.name} answer key: {type(e).__name__}: {e}", source=source) from None
    diff = sorted(k for k in set(rebuilt) | set(key["params"]) if rebuilt.get(k) != key["params"].get(k))
    if diff:
        raise VmsimError(
            f"not a valid {kind.name} answer key: params {', '.join(diff)} are not a problem vmsim exercise poses", source=source
        )


def check_answers(key: dict[str, Any], answers: Any | None, source: str = "") -> tuple[int, list[Mismatch]]:
    """Solve the key's problem again (a key this vmsim would answer differently is an error);
    then, if given, compare the student's ``answers`` with the key. Returns the number of answers
    in the key and every mismatch."""
    from vmsim.exercises import lookup

    kind = lookup(key["kind"])
    expected: list[dict[str, Any]] = key["answers"]
    if not isinstance(expected, list) or not all(isinstance(a, dict) for a in expected):
        raise VmsimError(
            f'not a valid {kind.name} answer key: "answers" is a list of objects, one per item, got {type(expected).__name__}',
            source=source,
        )
    if not isinstance(key["params"], dict):
        raise VmsimError(f'not a valid {kind.name} answer key: "params" is an object', source=source)
    _check_params(kind, key, source)
    try:
        fresh, _ = kind.solve(key["params"], int(key.get("seed", 0)))
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError, ZeroDivisionError) as e:
        raise VmsimError(f"not a valid {kind.name} answer key: {type(e).__name__}: {e}", source=source) from None
    stale = [
        Mismatch(i, f, exp.get(f), new.get(f))
        for i, (exp, new) in enumerate(zip(expected, fresh))
        for f in exp
        if exp.get(f) != new.get(f)
    ]
    if stale or len(fresh) != len(expected):
        raise VmsimError(
            f"this vmsim answers the key's problem differently ({len(stale)} fields): "
            "make the key again with vmsim exercise --solve",
            source=source,
        )
    if answers is None:
        return len(expected), []
    got = answers.get("answers") if isinstance(answers, dict) else answers
    if not isinstance(got, list) or not all(isinstance(a, dict) for a in got):
        raise VmsimError(
            'the answers are a JSON list of objects, one per item (or a document with "answers")', source="--answers"
        )
    out: list[Mismatch] = []
    for i, exp in enumerate(expected):
        if i >= len(got):
            out.append(Mismatch(i, "(answer)", "present", None))
            continue
        mine = got[i]
        fields = list(REQUIRED[kind.name]) + [f for f in mine if f in exp and f not in REQUIRED[kind.name]]
        out.extend(Mismatch(i, f, exp.get(f), mine.get(f)) for f in fields if mine.get(f) != exp.get(f))
    out.extend(Mismatch(i, "(answer)", None, "extra") for i in range(len(expected), len(got)))
    return len(expected), out


def mismatch_table(n: int, mismatches: list[Mismatch]) -> str:
    """The mismatches as a table, or one line when every answer matches."""
    from tabulate import tabulate

    if not mismatches:
        return f"{n} answer{'s' if n != 1 else ''}: every field matches the key"
    rows = [[m.item, m.field, json.dumps(m.expected), json.dumps(m.got)] for m in mismatches]
    wrong = len({m.item for m in mismatches})
    return (
        tabulate(rows, headers=["item", "field", "expected", "got"], disable_numparse=True)
        + f"\n{n - wrong} of {n} answers right"
    )
