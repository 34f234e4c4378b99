"""Every public function and method of vmsim has a docstring (CONTRIBUTING.md); an override of a
documented method of its base class inherits that one. Read from the source, nothing imported."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "vmsim"

Def = ast.FunctionDef | ast.AsyncFunctionDef


def _classes(trees: dict[Path, ast.Module]) -> dict[str, tuple[list[str], dict[str, bool]]]:
    """Every class by name: its base names and, per method, whether it has a docstring."""
    out: dict[str, tuple[list[str], dict[str, bool]]] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases]
                methods = {m.name: ast.get_docstring(m) is not None for m in node.body if isinstance(m, Def)}
                out.setdefault(node.name, (bases, methods))
    return out


def _documented_above(classes: dict[str, tuple[list[str], dict[str, bool]]], cls: str, name: str) -> bool:
    for base in classes.get(cls, ([], {}))[0]:
        if base != cls and (classes.get(base, ([], {}))[1].get(name) or _documented_above(classes, base, name)):
            return True
    return False


def undocumented() -> list[str]:
    """``file:line: name`` of each public function or method without a docstring."""
    trees = {p: ast.parse(p.read_text(), str(p)) for p in sorted(PACKAGE.rglob("*.py"))}
    classes = _classes(trees)
    out = []
    for path, tree in trees.items():
        where = path.relative_to(PACKAGE.parent)
        for node in tree.body:
            if isinstance(node, Def) and not node.name.startswith("_") and ast.get_docstring(node) is None:
                out.append(f"{where}:{node.lineno}: {node.name}")
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                for m in node.body:
                    public = isinstance(m, Def) and not m.name.startswith("_")
                    if public and ast.get_docstring(m) is None and not _documented_above(classes, node.name, m.name):
                        out.append(f"{where}:{m.lineno}: {node.name}.{m.name}")
    return out


def test_every_public_function_has_a_docstring() -> None:
    missing = undocumented()
    assert not missing, "public functions without a docstring:\n" + "\n".join(missing)


def test_the_check_sees_a_missing_docstring(tmp_path: Path) -> None:
    """The scan itself: a public method without a docstring is found, an override is not."""
    tree = ast.parse(
        "class Base:\n    def hook(self):\n        '''Doc.'''\n\n"
        "class Child(Base):\n    def hook(self):\n        pass\n    def extra(self):\n        pass\n"
    )
    classes = _classes({tmp_path / "x.py": tree})
    assert _documented_above(classes, "Child", "hook")
    assert not _documented_above(classes, "Child", "extra")
