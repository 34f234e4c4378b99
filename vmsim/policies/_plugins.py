"""Plug-in policies: a class from a Python file, or from an installed package's entry point.

Loading is always explicit. The CLI loads every ``--policy-file FILE.py:Class`` and the entry
points of the group ``vmsim.policies`` when a command starts; reading a scenario never loads code
(a scenario that names a policy nobody registered gets the usual unknown-policy error). A loaded
class is checked (a :class:`~vmsim.policies.base.Policy` subclass with a usable name, the hooks it
must define, typed parameters with defaults) and then registered exactly like a built-in, under
its ``name`` and ``aliases``. Loading the same file or entry point again is a no-op.

Where each plug-in came from is kept in :data:`ORIGINS`, so ``vmsim policies`` can say so and a
:class:`~vmsim.policies.PolicySpec` sent to a worker process can load its class there again.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import inspect
import re
import sys
import traceback
import typing
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from vmsim.errors import VmsimError
from vmsim.policies.base import ALIASES, REGISTRY, Policy, check_hooks, parameters, register

__all__ = ["GROUP", "ORIGINS", "Origin", "load_entry_points", "load_policy_file", "origin_of"]

#: The entry-point group installed packages use to offer policies.
GROUP = "vmsim.policies"

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")
_PARAM_TYPES = (int, float, bool, str)


@dataclass(frozen=True)
class Origin:
    """Where a plug-in came from: ``ref`` is how to load it again, ``detail`` how to show it."""

    kind: Literal["file", "entry point"]
    ref: str
    detail: str


#: Registry name -> origin, for plug-ins only (built-ins have no entry).
ORIGINS: dict[str, Origin] = {}


def origin_of(name: str) -> str:
    """``built-in``, ``file PATH`` or ``entry point NAME (DIST VERSION)`` for a registered name."""
    o = ORIGINS.get(name.lower())
    return o.detail if o is not None else "built-in"


# -- files -----------------------------------------------------------------------------------------


def load_policy_file(ref: str) -> type[Policy]:
    """Load ``FILE.py:Class`` (or ``FILE.py`` when the file defines exactly one Policy subclass)
    and register the class; return it. Errors are one-line VmsimErrors naming the file."""
    text, sep, cls_name = ref.rpartition(":")
    if not sep or not text or "/" in cls_name or "\\" in cls_name or cls_name.endswith(".py"):
        text, cls_name = ref, ""  # no class given (a Windows drive letter is not a class either)
    cls_name = cls_name.strip()
    path = Path(text).expanduser()
    where = text
    try:
        path.is_file()
    except OSError as e:  # a name too long for the file system, ...
        raise VmsimError(f"cannot read: {e.strerror or e}", source=where[:200]) from None
    if not path.is_file():
        hint = "" if text.endswith(".py") else " (--policy-file takes FILE.py:Class)"
        raise VmsimError(("is a directory, not a Python file" if path.is_dir() else "no such file") + hint, source=where)
    resolved = path.resolve()
    fresh = _module_name(resolved) not in sys.modules
    saved: tuple[dict[str, Any], ...] = dict(REGISTRY), dict(ALIASES), dict(ORIGINS)
    module = _import_file(resolved, where)
    try:
        return _register_from(module, text, cls_name, resolved, where)
    except VmsimError:
        if fresh:  # a file that was rejected is forgotten, so a fixed one is imported again
            del sys.modules[module.__name__]
            registries: tuple[dict[str, Any], ...] = (REGISTRY, ALIASES, ORIGINS)
            for d, s in zip(registries, saved):
                d.clear()
                d.update(s)
        raise


def _register_from(module: ModuleType, text: str, cls_name: str, resolved: Path, where: str) -> type[Policy]:
    if cls_name:
        cls = getattr(module, cls_name, None)
        if cls is None:
            defined = ", ".join(_defined_policies(module)) or "none"
            raise VmsimError(f"no class {cls_name!r} in this file (Policy subclasses defined here: {defined})", source=where)
    else:
        found = _defined_policies(module)
        if len(found) != 1:
            listed = ", ".join(found) or "none"
            raise VmsimError(f"name the class as {text}:Class (Policy subclasses defined here: {listed})", source=where)
        cls_name = found[0]
        cls = getattr(module, cls_name)
    return _register(cls, cls_name, Origin("file", f"{resolved}:{cls_name}", f"file {text}"), where)


def _defined_policies(module: ModuleType) -> list[str]:
    return sorted(
        k
        for k, v in vars(module).items()
        if isinstance(v, type) and issubclass(v, Policy) and v is not Policy and v.__module__ == module.__name__
    )


def _module_name(path: Path) -> str:
    """A module name unique to the file's absolute path, so two ``mine.py`` never collide."""
    stem = re.sub(r"\W", "_", path.stem)
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    return f"vmsim_plugin_{stem}_{digest}"


def _import_file(path: Path, where: str) -> ModuleType:
    """Import a file by path (once per process); undo any registration if it fails."""
    name = _module_name(path)
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise VmsimError("cannot be imported as a Python module (name it FILE.py)", source=where)
    module = importlib.util.module_from_spec(spec)
    before_registry, before_aliases = dict(REGISTRY), dict(ALIASES)
    sys.modules[name] = module  # before running it: dataclasses and pickle look modules up here
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        del sys.modules[name]
        REGISTRY.clear()
        REGISTRY.update(before_registry)
        ALIASES.clear()
        ALIASES.update(before_aliases)
        if isinstance(e, SyntaxError):
            raise VmsimError(f"syntax error: {e.msg}", source=where, line=e.lineno) from None
        line = _line_in(e, path)
        raise VmsimError(f"importing it failed: {_one_line(e)}", source=where, line=line) from None
    # Classes the file registered itself (with @register) are plug-ins from this file too.
    for key, cls in REGISTRY.items():
        if key not in before_registry:
            ORIGINS[key] = Origin("file", f"{path}:{cls.__name__}", f"file {where}")
    return module


def _line_in(exc: BaseException, path: Path) -> int | None:
    """The line of ``path`` deepest in the exception's traceback, if it passed through it."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename) == path:
            line = frame.lineno
    return line


def _one_line(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {msg[0]}" if msg else type(exc).__name__


# -- entry points ----------------------------------------------------------------------------------


def load_entry_points() -> list[type[Policy]]:
    """Load and register every entry point of the group ``vmsim.policies`` (in name order).

    Each entry point names a Policy subclass (``name = package.module:Class``). A broken one is a
    one-line VmsimError naming it; nothing is skipped silently.
    """
    out: list[type[Policy]] = []
    for ep in sorted(importlib.metadata.entry_points(group=GROUP), key=lambda e: (e.name, e.value)):
        dist = getattr(ep, "dist", None)
        source = f" from {dist.name} {dist.version}" if dist is not None else ""
        where = f"entry point {ep.name!r} ({ep.value}){source} in group {GROUP}"
        try:
            obj = ep.load()
        except Exception as e:
            raise VmsimError(
                f"{where}: cannot load it: {_one_line(e)}; run vmsim with --no-entry-points to skip installed plug-ins"
            ) from None
        detail = f"entry point {ep.name}{f' ({dist.name} {dist.version})' if dist is not None else ''}"
        out.append(_register(obj, ep.value, Origin("entry point", ep.name, detail), where))
    return out


# -- checks and registration -----------------------------------------------------------------------


def _register(cls: Any, label: str, origin: Origin, where: str) -> type[Policy]:
    """Check a plug-in class and register it (a no-op if this very class is registered)."""
    if not (isinstance(cls, type) and issubclass(cls, Policy)) or cls is Policy:
        raise VmsimError(f"{label} is not a subclass of vmsim.policies.Policy", source=where)
    name = cls.name.strip().lower() if isinstance(cls.name, str) else ""
    if not name or not _NAME.fullmatch(name) or name == "all":
        raise VmsimError(
            f"{label}.name must be a policy name (letters, digits, _ . -, not 'all'), got {cls.name!r}", source=where
        )
    try:
        _check_hooks(cls, label, where)
        _check_params(cls, label, where)
    except VmsimError:
        if REGISTRY.get(name) is cls:  # the file registered it itself: take it back
            _unregister(name)
        raise
    if REGISTRY.get(name) is cls:
        ORIGINS.setdefault(name, origin)
        return cls
    for key in (name, *(a.lower() for a in cls.aliases)):
        owner = ALIASES.get(key, key)
        if owner in REGISTRY:
            raise VmsimError(
                f"{label}: the policy name {key!r} is already taken by the {origin_of(owner)} policy {owner!r}; "
                f"choose another name",
                source=where,
            )
    register(cls)
    ORIGINS[name] = origin
    return cls


def _unregister(name: str) -> None:
    del REGISTRY[name]
    ORIGINS.pop(name, None)
    for alias in [a for a, owner in ALIASES.items() if owner == name]:
        del ALIASES[alias]


def _check_hooks(cls: type[Policy], label: str, where: str) -> None:
    try:
        check_hooks(cls)
    except VmsimError as e:
        raise VmsimError(str(e).replace(f"policy {cls.name or cls.__name__}", label, 1), source=where) from None


def _check_params(cls: type[Policy], label: str, where: str) -> None:
    """``__init__(self, frames, rng, name: int|float|bool|str = default, ...)``, or, with no
    ``__init__`` of its own, parameters declared as class attributes of those types."""
    if cls.__init__ is Policy.__init__:
        try:
            declared = parameters(cls)
        except Exception as e:
            raise VmsimError(f"cannot read {label}'s parameters: {_one_line(e)}", source=where) from None
        for pname, p in declared.items():
            hint = p.annotation
            if (hint.__origin__ if typing.get_origin(hint) is typing.Annotated else hint) not in _PARAM_TYPES:
                raise VmsimError(f"{label}: parameter {pname!r} needs a type (int, float, bool or str)", source=where)
        return
    try:
        sig = inspect.signature(cls.__init__)
        hints = typing.get_type_hints(cls.__init__)
    except Exception as e:
        raise VmsimError(f"cannot read {label}.__init__'s parameters: {_one_line(e)}", source=where) from None
    names = list(sig.parameters)
    if names[:3] != ["self", "frames", "rng"]:
        raise VmsimError(f"{label}.__init__ must start (self, frames, rng), got ({', '.join(names[:3])})", source=where)
    for pname, p in list(sig.parameters.items())[3:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise VmsimError(f"{label}.__init__: *args and **kwargs are not policy parameters", source=where)
        if hints.get(pname) not in _PARAM_TYPES or p.default is p.empty:
            raise VmsimError(
                f"{label}.__init__: parameter {pname!r} needs a type (int, float, bool or str) and a default", source=where
            )


def restore(name: str, origin: Origin) -> type[Policy]:
    """The class registered as ``name``, loading it again from ``origin`` if this process has not
    (a worker process started with spawn or forkserver)."""
    if name not in REGISTRY:
        if origin.kind == "file":
            load_policy_file(origin.ref)
        else:
            load_entry_points()
    if name not in REGISTRY:
        raise VmsimError(f"plug-in policy {name!r} is no longer offered by its {origin.detail}")
    return REGISTRY[name]
