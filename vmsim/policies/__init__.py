"""Replacement policies: one file each, found and registered by importing this package.

Adding a policy means adding one module here that decorates its class with ``@register``; this
file imports every module of the package (except ``base`` and private ``_`` modules), so nothing
else needs to change. Plug-ins (a class in a file of your own, or an installed package's entry
point) are registered the same way, explicitly, by :func:`load_policy_file` and
:func:`load_entry_points` (see :mod:`vmsim.policies._plugins`).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing
from dataclasses import dataclass, field
from typing import Any

from vmsim.errors import VmsimError
from vmsim.policies.base import (
    ALIASES,
    NEVER,
    REGISTRY,
    Foresighted,
    Path,
    Periodic,
    Policy,
    Releasing,
    RepeatIsNoop,
    WantsIncoming,
    register,
)

for _mod in pkgutil.iter_modules(__path__):
    if _mod.name != "base" and not _mod.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod.name}")

from vmsim.policies._plugins import ORIGINS, load_entry_points, load_policy_file, origin_of  # noqa: E402

__all__ = [
    "NEVER",
    "Foresighted",
    "Path",
    "Periodic",
    "Policy",
    "PolicySpec",
    "Releasing",
    "RepeatIsNoop",
    "WantsIncoming",
    "available",
    "load_entry_points",
    "load_policy_file",
    "lookup",
    "origin_of",
    "param_info",
    "parse_policy",
    "register",
]


def available() -> list[str]:
    """Registered policy names, sorted."""
    return sorted(REGISTRY)


def lookup(name: str) -> type[Policy]:
    """The policy class for a name or alias (any case); an unknown name lists the valid ones."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    try:
        return REGISTRY[key]
    except KeyError:
        raise VmsimError(f"unknown policy {name!r}; valid policies: {', '.join(available())}") from None


def param_info(cls: type[Policy]) -> dict[str, tuple[type, Any]]:
    """The policy's parameters: name -> (type, default), from its constructor's signature."""
    hints = typing.get_type_hints(cls.__init__)
    out: dict[str, tuple[type, Any]] = {}
    for pname, p in inspect.signature(cls.__init__).parameters.items():
        if pname in ("self", "frames", "rng"):
            continue
        out[pname] = (hints.get(pname, str), p.default)
    return out


def _convert(policy: str, key: str, raw: str, typ: type) -> Any:
    text = raw.strip()
    if typ is bool:
        low = text.lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
        raise VmsimError(f"policy {policy}: parameter {key} takes true or false, got {raw!r}")
    try:
        return typ(text)
    except ValueError:
        raise VmsimError(f"policy {policy}: parameter {key} takes a {typ.__name__}, got {raw!r}") from None


@dataclass(frozen=True)
class PolicySpec:
    """A policy class with validated parameters; ``label`` is how results name it."""

    cls: type[Policy]
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        defaults = param_info(self.cls)
        shown = [f"{k}={_fmt(v)}" for k, v in self.params.items() if v != defaults[k][1]]
        return ":".join([self.cls.name, *shown])

    def build(self, frames: Any, rng: Any) -> Policy:
        return self.cls(frames, rng, **self.params)

    def __reduce__(self) -> tuple[Any, ...]:
        # A plug-in's class is pickled as where it came from, so a worker process that did not
        # inherit the registry (spawn, forkserver) loads it again.
        origin = ORIGINS.get(self.cls.name.lower())
        if origin is None:
            return (PolicySpec, (self.cls, self.params))
        return (_restore_spec, (self.cls.name.lower(), origin, self.params))


def _restore_spec(name: str, origin: Any, params: dict[str, Any]) -> PolicySpec:
    from vmsim.policies._plugins import restore

    return PolicySpec(restore(name, origin), params)


def _fmt(v: Any) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


def parse_policy(text: str) -> PolicySpec:
    """Parse ``NAME[:key=value[:key=value]]``, e.g. ``clock:ref_bit_on_load=false``."""
    name, *pairs = text.split(":")
    cls = lookup(name)
    info = param_info(cls)
    params: dict[str, Any] = {k: d for k, (_, d) in info.items()}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise VmsimError(f"policy {cls.name}: parameters are written key=value, got {pair!r}")
        if key not in info:
            valid = ", ".join(info) or "none"
            raise VmsimError(f"policy {cls.name}: unknown parameter {key!r}; valid parameters: {valid}")
        params[key] = _convert(cls.name, key, raw, info[key][0])
    cls.validate(**params)
    return PolicySpec(cls, params)
