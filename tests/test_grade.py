"""`vmsim check KEY.json --answers FILE`: grading exercise answers against an answer key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vmsim.cli import main

KINDS = ["relocation", "segmentation", "linear", "multilevel", "tlb", "freelist"]


def key_of(capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str, seed: int = 7) -> tuple[Path, dict]:
    assert main(["exercise", kind, "--seed", str(seed), "--solve", "--format", "json"]) == 0
    key = tmp_path / f"key_{kind}.json"
    key.write_text(capsys.readouterr().out)
    return key, json.loads(key.read_text())


@pytest.mark.parametrize("kind", KINDS)
def test_right_answers_pass_and_a_wrong_field_fails(capsys, tmp_path: Path, kind: str) -> None:
    key, doc = key_of(capsys, tmp_path, kind)
    answers = tmp_path / "mine.json"
    answers.write_text(json.dumps(doc["answers"]))
    assert main(["check", str(key), "--answers", str(answers)]) == 0
    assert "every field matches the key" in capsys.readouterr().out
    wrong = [dict(a) for a in doc["answers"]]
    field = {"tlb": "hit", "freelist": "addr"}.get(kind, "paddr")
    wrong[0][field] = "nonsense"
    answers.write_text(json.dumps(wrong))
    assert main(["check", str(key), "--answers", str(answers)]) == 1
    out = capsys.readouterr().out
    assert f"0       {field}" in out and f"{len(wrong) - 1} of {len(wrong)} answers right" in out


def test_only_the_required_fields_are_needed_and_missing_answers_count(capsys, tmp_path: Path) -> None:
    key, doc = key_of(capsys, tmp_path, "segmentation")
    minimal = [{k: a[k] for k in ("vaddr", "valid", "paddr")} for a in doc["answers"]]
    answers = tmp_path / "mine.json"
    answers.write_text(json.dumps({"answers": minimal}))  # a document with "answers" works too
    assert main(["check", str(key), "--answers", str(answers)]) == 0
    capsys.readouterr()
    answers.write_text(json.dumps(minimal[:-1]))
    assert main(["check", str(key), "--answers", str(answers)]) == 1
    assert "(answer)" in capsys.readouterr().out
    # A field the student gives beyond the required ones is graded too.
    extra = [dict(a, segment=1 - a.get("segment", 0)) for a in minimal]
    answers.write_text(json.dumps(extra))
    assert main(["check", str(key), "--answers", str(answers)]) == 1


def test_a_key_is_solved_again_before_it_is_trusted(capsys, tmp_path: Path) -> None:
    key, doc = key_of(capsys, tmp_path, "relocation")
    assert main(["check", str(key)]) == 0  # the key alone: vmsim still answers it the same way
    capsys.readouterr()
    doc["answers"][0]["paddr"] = -1
    key.write_text(json.dumps(doc))
    assert main(["check", str(key)]) == 2
    assert "answers the key's problem differently" in capsys.readouterr().err


def test_bad_inputs_are_one_line(capsys, tmp_path: Path) -> None:
    key, _ = key_of(capsys, tmp_path, "linear")
    assert main(["check", str(key), "--answers", str(tmp_path / "none.json")]) == 2
    assert "no such answers file" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('{"answers": 3}')
    assert main(["check", str(key), "--answers", str(bad)]) == 2
    assert "JSON list of objects" in capsys.readouterr().err
    golden = tmp_path / "golden.json"
    trace = tmp_path / "t.pages"
    trace.write_text("1\n2\n3\n1\n")
    assert main(["record", str(golden), str(trace), "-p", "lru", "-f", "2"]) == 0
    capsys.readouterr()
    assert main(["check", str(golden), "--answers", str(bad)]) == 2
    assert "--answers grades against an exercise's answer key" in capsys.readouterr().err
