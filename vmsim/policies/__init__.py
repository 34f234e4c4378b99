"""Replacement policies: one file each, found and registered by importing this package.

Adding a policy means adding one module here that decorates its class with ``@register``; this
file imports every module of the package (except ``base`` and private ``_`` modules), so nothing
else needs to change. Plug-ins (a class in a file of your own, or an installed package's entry
point) are registered the same way, explicitly, by :func:`load_policy_file` and
:func:`load_entry_points` (see :mod:`vmsim.policies._plugins`).
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import typing
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from vmsim.errors import PolicyError
from vmsim.policies.base import (
    ALIASES,
    INT64,
    NEVER,
    REGISTRY,
    Foresighted,
    Fraction,
    OpenFraction,
    Path,
    Periodic,
    Policy,
    Range,
    Releasing,
    RepeatIsNoop,
    WantsIncoming,
    parameters,
    register,
)

for _mod in pkgutil.iter_modules(__path__):
    if _mod.name != "base" and not _mod.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod.name}")

from vmsim.policies._plugins import ORIGINS, load_entry_points, load_policy_file, origin_of  # noqa: E402

__all__ = [
    "NEVER",
    "Foresighted",
    "Fraction",
    "OpenFraction",
    "Param",
    "Path",
    "Periodic",
    "Policy",
    "PolicySpec",
    "Range",
    "Releasing",
    "RepeatIsNoop",
    "WantsIncoming",
    "available",
    "check_params",
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
    if not isinstance(name, str):
        raise PolicyError(f"a policy is named by a string, got {name!r}")
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    try:
        return REGISTRY[key]
    except KeyError:
        raise PolicyError(f"unknown policy {name!r}; valid policies: {', '.join(available())}", policy=str(name)) from None


class Param(NamedTuple):
    """One constructor parameter of a policy: its type, its default, and the values it accepts."""

    type: type
    default: Any
    range: Range | None


@functools.cache
def param_info(cls: type[Policy]) -> dict[str, Param]:
    """The policy's parameters, from the one place they are declared (``k: Annotated[int,
    Range(1, 64)] = 2``): its constructor's signature or its class attributes
    (:func:`~vmsim.policies.base.parameters`). An int without a declared range must fit an int64;
    every float must be finite."""
    out: dict[str, Param] = {}
    for pname, p in parameters(cls).items():
        hint: Any = str if p.annotation is p.empty else p.annotation
        rng: Range | None = None
        if typing.get_origin(hint) is typing.Annotated:
            rng = next((m for m in hint.__metadata__ if isinstance(m, Range)), None)
            hint = hint.__origin__
        if rng is None and hint is int:
            rng = INT64
        elif rng is None and hint is float:
            rng = Range()
        out[pname] = Param(hint, p.default, rng)
    return out


def check_params(cls: type[Policy], params: dict[str, Any]) -> None:
    """Every value of the right type and in its declared range, then the policy's own checks
    across parameters (``Policy.validate``): one PolicyError naming the policy and parameter."""
    info = param_info(cls)
    for key, value in params.items():
        if key not in info:
            valid = ", ".join(info) or "none"
            raise PolicyError(
                f"policy {cls.name}: unknown parameter {key!r}; valid parameters: {valid}", policy=cls.name, param=key
            )
        p = info[key]
        if p.type in (int, float) and (
            isinstance(value, bool) or not isinstance(value, int | float) or (p.type is int and not isinstance(value, int))
        ):
            raise PolicyError(
                f"policy {cls.name}: parameter {key} takes {'an int' if p.type is int else 'a number'}, got {value!r}",
                policy=cls.name,
                param=key,
            )
        if p.range is not None and not p.range.contains(value):
            raise PolicyError(
                f"policy {cls.name}: parameter {key} must be {p.range.rule()}, got {value!r}", policy=cls.name, param=key
            )
    cls.validate(**params)


def _convert(policy: str, key: str, raw: str, typ: type) -> Any:
    text = raw.strip()
    if typ is bool:
        low = text.lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
        raise PolicyError(f"policy {policy}: parameter {key} takes true or false, got {raw!r}", policy=policy, param=key)
    try:
        return typ(text)
    except (ValueError, TypeError, OverflowError):
        name = {int: "an int", float: "a number", str: "a string"}.get(typ, f"a {getattr(typ, '__name__', typ)}")
        raise PolicyError(f"policy {policy}: parameter {key} takes {name}, got {raw!r}", policy=policy, param=key) from None


@dataclass(frozen=True)
class PolicySpec:
    """A policy class with validated parameters; ``label`` is how results name it."""

    cls: type[Policy]
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The policy as results name it: its name and the parameters not at their defaults."""
        defaults = param_info(self.cls)
        shown = [f"{k}={_fmt(v)}" for k, v in self.params.items() if v != defaults[k].default]
        return ":".join([self.cls.name, *shown])

    def build(self, frames: Any, rng: Any) -> Policy:
        """A new instance; its parameters are checked against their declared ranges first."""
        check_params(self.cls, self.params)
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
    params: dict[str, Any] = {k: p.default for k, p in info.items()}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise PolicyError(f"policy {cls.name}: parameters are written key=value, got {pair!r}", policy=cls.name)
        if key not in info:
            valid = ", ".join(info) or "none"
            raise PolicyError(
                f"policy {cls.name}: unknown parameter {key!r}; valid parameters: {valid}", policy=cls.name, param=key
            )
        params[key] = _convert(cls.name, key, raw, info[key].type)
    check_params(cls, params)
    return PolicySpec(cls, params)
