"""The interface every replacement policy implements, and the decorator that registers one.

A policy instance manages one *replacement domain*: the set of frames it may choose victims from.
Under global replacement one instance holds every frame; under local replacement each process has
its own instance holding that process's frames. The fault handler drives every policy with the same
template (libCacheSim's): look the page up; on a miss take a free frame or ask ``victim()``; then
``insert()`` the new page's frame.

A policy declares how the VM core runs it between faults, once, as its ``path``
(:class:`Path`): hits that only set the referenced and dirty bits (``BITS``: FIFO and Clock cost
nothing on a hit, though the MMU still sets the bits in the FrameTable, which any policy may read),
hits that call ``hit()`` (``HITS``), or a victim order that is the order of the page table itself
(``FIFO_TABLE``, ``LRU_TABLE``, ``MRU_TABLE``: a fused loop keeps the table in that order and hands
it back with ``adopt()``). What else a policy needs comes from small mixins:

- :class:`RepeatIsNoop`: an access that repeats the previous access to the same page changes
  nothing, so replay may fold such repeats (an exact shortcut);
- :class:`Periodic`: ``tick(now)`` every ``period`` units of virtual time (NRU, aging, NFU,
  WSClock, working set). Replay counts the accesses of the stream (every process, before folding
  repeats): a tick follows the ``period``-th, ``2 * period``-th, ... access. The kernel ticks from
  its own clock, every ``period * timing.memory_access`` of simulated time, with
  ``now = env.now // memory_access``. A tick may return frames the policy gives up (the working
  set's pages that left the window); the driver frees them through the Pager, counted as evictions;
- :class:`Releasing`: gives up frames at a fault, returned by ``release()``, which the Pager calls
  before it looks for a free frame (PFF);
- :class:`WantsIncoming`: chooses its victim knowing the page being loaded, told by ``incoming()``
  just before ``victim()`` (ARC);
- :class:`Foresighted`: needs the future of the stream, given by ``set_future()`` before the run
  (OPT).

Counting references (PFF, LFU, MFU) is ``HITS`` without ``RepeatIsNoop``: every access reaches the
policy. The hooks a policy must define are abstract; ``@register`` refuses a class that lacks one,
naming it. ``vmsim.vm.plan`` is the one place that turns these declarations into the drivers'
choices.

One mixin the drivers do not read only implements ``set_capacity``: :class:`CapacitySized`, for a
policy whose queue sizes follow the number of frames it holds (LIRS, S3-FIFO).

A policy's parameters are keyword arguments of its constructor, each with a type, a default and,
for numbers, a declared :class:`Range`. A plug-in may declare them in its own ``__init__(self,
frames, rng, k: Annotated[int, Range(1, 64)] = 2)``, calling ``super().__init__(frames, rng)``.
The built-ins declare them as annotated class attributes instead (``k: Annotated[int, Range(1,
64)] = 2``), inherited by subclasses, so that none repeats the constructor: ``Policy.__init__``
takes them in that order or by name, sets those given on the instance (the class attribute is
the default), then calls ``setup()``, where the policy builds its state. A subclass fixes an inherited parameter by assigning it
without an annotation (``ref_bit_on_load = True``): it is then no longer a parameter.
:func:`parameters` reads either form.
"""

from __future__ import annotations

import abc
import enum
import functools
import inspect
import math
import random
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, TypeVar

from vmsim.errors import PolicyError, VmsimError
from vmsim.hw.frames import FrameTable

#: The next-use time ``set_future`` gives an access whose page is never used again.
NEVER = 1 << 62

REGISTRY: dict[str, type[Policy]] = {}
ALIASES: dict[str, str] = {}

P = TypeVar("P", bound="type[Policy]")


class Path(enum.Enum):
    """How the VM core runs a policy between faults: the one declared choice of fast path."""

    #: A hit only sets the referenced and dirty bits (the MMU's work); the policy is not called.
    BITS = "bits"
    #: Every hit calls ``hit(frame)``.
    HITS = "hits"
    #: The victim is the page loaded longest ago: the page table is kept in load order.
    FIFO_TABLE = "fifo"
    #: The victim is the page accessed longest ago: the page table is kept in recency order.
    LRU_TABLE = "lru"
    #: The victim is the page accessed most recently: the page table is kept in recency order.
    MRU_TABLE = "mru"


#: The old capability flags, and what replaces each (a plug-in that still sets one is told).
_RETIRED = {
    "needs_hit": "path = Path.HITS",
    "table_order": "path = Path.FIFO_TABLE, LRU_TABLE or MRU_TABLE",
    "repeat_is_noop": "the RepeatIsNoop mixin",
    "periodic": "the Periodic mixin",
    "releases_on_fault": "the Releasing mixin",
    "wants_incoming": "the WantsIncoming mixin",
    "needs_future": "the Foresighted mixin",
}


@dataclass(frozen=True)
class Range:
    """The values a policy parameter accepts, declared once where the parameter is, in the
    constructor's signature: ``k: Annotated[int, Range(1, 1000)] = 2``. The scenario schema,
    ``NAME:key=value`` specs and :class:`~vmsim.policies.PolicySpec` all check against it; floats
    must also be finite. A bound is inclusive unless ``lo_open`` / ``hi_open``."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False

    def contains(self, value: float) -> bool:
        """Whether ``value`` is finite and within the bounds."""
        if isinstance(value, float) and not math.isfinite(value):
            return False
        if self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo):
            return False
        return not (self.hi is not None and (value >= self.hi if self.hi_open else value > self.hi))

    def rule(self) -> str:
        """The bounds in words, for error messages: ``between 1 and 64``, ``in [0.0, 1.0)``."""
        lo, hi = _num(self.lo), _num(self.hi)
        if self.lo is not None and self.hi is not None:
            if not (self.lo_open or self.hi_open):
                return f"between {lo} and {hi}"
            return f"in {'(' if self.lo_open else '['}{lo}, {hi}{')' if self.hi_open else ']'}"
        if self.lo is not None:
            return f"{'greater than' if self.lo_open else 'at least'} {lo}"
        if self.hi is not None:
            return f"{'less than' if self.hi_open else 'at most'} {hi}"
        return "a finite number"

    def field_kwargs(self) -> dict[str, float]:
        """The same bounds as pydantic ``Field`` constraints, so the schema shows them."""
        out: dict[str, float] = {}
        if self.lo is not None:
            out["gt" if self.lo_open else "ge"] = self.lo
        if self.hi is not None:
            out["lt" if self.hi_open else "le"] = self.hi
        return out


def _num(x: float | None) -> str:
    return f"{x:,}" if isinstance(x, int) and abs(x) >= 10_000 else str(x)


#: A fraction in [0, 1] and in [0, 1); the ``period`` of a Periodic policy (in references).
Fraction = Annotated[float, Range(0.0, 1.0)]
OpenFraction = Annotated[float, Range(0.0, 1.0, hi_open=True)]
#: Integers without a declared range must still fit an int64 (what the compiled loops hold).
INT64 = Range(-(2**63), 2**63 - 1)


class Policy(abc.ABC):
    """Base class of replacement policies. Subclasses keep their own order over their frames."""

    #: Registry name (lower case) and aliases; case does not matter when looking them up.
    name: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    #: One line for `vmsim policies` and error messages.
    summary: ClassVar[str] = ""
    #: How the VM core runs this policy between faults (see :class:`Path`).
    path: ClassVar[Path] = Path.BITS

    def __init__(self, frames: FrameTable, rng: random.Random, *args: Any, **params: Any) -> None:
        self.frames = frames
        self.rng = rng
        if args or params:
            declared = list(declared_params(type(self)))
            if len(args) > len(declared):
                raise TypeError(f"{type(self).__name__}() takes {len(declared)} parameters, got {len(args)} positional")
            for key, value in zip(declared, args, strict=False):
                if key in params:
                    raise TypeError(f"{type(self).__name__}() got multiple values for {key!r}")
                params[key] = value
            unknown = params.keys() - set(declared)
            if unknown:
                raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument {min(unknown)!r}")
            for key, value in params.items():
                setattr(self, key, value)
        self.setup()

    def setup(self) -> None:
        """Build the policy's own state, once ``frames``, ``rng`` and the declared parameters are
        set (called by the constructor). This one does nothing, so a direct subclass of Policy
        need not call it; a subclass of any other class that defines it calls ``super().setup()``
        first."""
        return

    @classmethod
    def folds_repeats(cls, **params: Any) -> bool:
        """Whether replay may fold an access that repeats the previous one (see RepeatIsNoop)."""
        return False

    @classmethod
    def validate(cls, **params: Any) -> None:
        """Checks across parameters that a :class:`Range` on each cannot say (override per policy,
        calling ``super().validate(**params)``); each parameter's own range is declared in the
        constructor's signature and checked before this is called."""
        return

    @classmethod
    def require(cls, ok: bool, param: str, rule: str, value: Any) -> None:
        """For ``validate``: fail with one line naming the policy, the parameter and its rule."""
        if not ok:
            raise PolicyError(f"policy {cls.name}: parameter {param} must be {rule}, got {value!r}", policy=cls.name, param=param)

    def set_capacity(self, frames: int) -> None:
        """The number of frames this domain may hold: its quota under local scope (called when the
        process is added and whenever the quota changes); every frame under global scope, where
        it is never called. Policies that size queues from their capacity override this."""
        return

    @abc.abstractmethod
    def insert(self, frame: int) -> None:
        """A page has just been loaded into ``frame`` (referenced bit set, dirty if written)."""

    def hit(self, frame: int) -> None:
        """The page in ``frame`` was accessed again (only on the HITS, LRU_TABLE and MRU_TABLE
        paths, which must define it)."""
        return

    @abc.abstractmethod
    def victim(self) -> int:
        """Choose a frame of this domain to evict, and forget it. Called only when non-empty."""

    @abc.abstractmethod
    def remove(self, frame: int) -> None:
        """Forget ``frame``: the kernel freed it for another reason (exit, swap-out, reallocation)."""

    @abc.abstractmethod
    def order(self) -> list[int]:
        """This domain's frames in the policy's own order, next victim first where it has one."""

    def adopt(self, frames: list[int]) -> None:
        """Take ``frames`` (oldest first, in the table path's sense) as this domain's whole state
        (only on the table paths, which must define it)."""
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.order())


class RepeatIsNoop:
    """Mixin: an access that repeats the previous access to the same page changes nothing in the
    policy's state, so replay may fold such repeats into one (an exact shortcut). Override
    ``folds_repeats`` where that depends on the parameters."""

    @classmethod
    def folds_repeats(cls, **params: Any) -> bool:
        """Always: a repeated access changes nothing this policy keeps."""
        return True


class Periodic(abc.ABC):
    """Mixin: ``tick(now)`` every ``period`` units of virtual time (see the module doc). The policy
    takes ``period: Periodic.Period = Periodic.DEFAULT_PERIOD`` as a constructor parameter (whose
    declared range is checked with the others): declared here, or in a plug-in's ``__init__``; the
    driver reads ``self.period``."""

    DEFAULT_PERIOD: ClassVar[int] = 1000
    #: References between ticks: at least 1, at most a billion (a tick per run at most, in practice).
    Period = Annotated[int, Range(1, 10**9)]
    #: The parameter, declared once here for the built-ins (a plug-in's ``__init__`` may declare it).
    period: Period = DEFAULT_PERIOD

    @abc.abstractmethod
    def tick(self, now: int) -> list[int]:
        """The periodic work at virtual time ``now``. Returns the frames the policy gives up (it has
        already forgotten them); usually none."""


class Releasing(abc.ABC):
    """Mixin: gives up frames at a fault; the Pager calls ``release()`` before it places the page."""

    @abc.abstractmethod
    def release(self) -> list[int]:
        """The frames the policy gives up at this fault (it has already forgotten them)."""


class WantsIncoming(abc.ABC):
    """Mixin: the victim depends on the page coming in; ``incoming()`` is called just before
    ``victim()``."""

    @abc.abstractmethod
    def incoming(self, owner: int, page: int) -> None:
        """The page (of process ``owner``) that the coming fault loads into this domain."""


class Foresighted(abc.ABC):
    """Mixin: needs the stream's future; the driver calls ``set_future()`` before the run (in the
    kernel only under local scope, where each process's future is its own stream's)."""

    @abc.abstractmethod
    def set_future(self, next_use: Iterable[int]) -> None:
        """The next-use time of every access this domain will see, in order (hits and loads
        alike); :data:`NEVER` for an access whose page is not used again."""


class CapacitySized(abc.ABC):
    """Mixin: the policy sizes its queues from ``c``, the number of frames its domain holds: every
    frame at first (the policy calls ``self.set_capacity(frames.n)`` in its constructor), the quota
    from ``set_capacity``, and the frames actually held at an eviction (the policy calls
    ``self._fit(size)`` first in ``victim()``). It defines ``_resize(c)``; ``self._cap`` is ``c``."""

    _cap: int

    @abc.abstractmethod
    def _resize(self, c: int) -> None:
        """Recompute the queue sizes for capacity ``c``."""

    def set_capacity(self, frames: int) -> None:
        """Take ``frames`` as ``c`` and resize the queues for it."""
        self._cap = frames
        self._resize(frames)

    def _fit(self, size: int) -> None:
        """At an eviction: resize if the domain holds ``size`` frames, not ``c``."""
        if size != self._cap:
            self.set_capacity(size)


#: Class attributes every policy has that are never parameters.
_NOT_PARAMS = frozenset({"name", "aliases", "summary", "path", "frames", "rng"})


def _is_classvar(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return annotation.removeprefix("typing.").startswith("ClassVar")
    return annotation is ClassVar or typing.get_origin(annotation) is ClassVar


@functools.cache
def declared_params(cls: type) -> dict[str, Any]:
    """The parameters ``cls`` declares as class attributes, with their defaults, base classes'
    first: the public attributes that the nearest class in the MRO assigning them also annotates
    (not as ``ClassVar``). Read without evaluating the annotations."""
    names: dict[str, None] = {}
    for klass in reversed(cls.__mro__):
        for key, annotation in inspect.get_annotations(klass).items():
            if not key.startswith("_") and key not in _NOT_PARAMS and not _is_classvar(annotation):
                names[key] = None
    out: dict[str, Any] = {}
    for key in names:
        owner = next((k for k in cls.__mro__ if key in vars(k)), None)
        if owner is not None and key in inspect.get_annotations(owner):
            out[key] = vars(owner)[key]
    return out


@functools.cache
def parameters(cls: type[Policy]) -> dict[str, inspect.Parameter]:
    """The policy's parameters, each with its annotation resolved (``Annotated`` kept) and its
    default: those of its own ``__init__`` after ``(self, frames, rng)`` if it defines one, else
    those it declares as class attributes (:func:`declared_params`)."""
    if cls.__init__ is Policy.__init__:
        hints = typing.get_type_hints(cls, include_extras=True)
        kind = inspect.Parameter.KEYWORD_ONLY
        return {k: inspect.Parameter(k, kind, default=d, annotation=hints[k]) for k, d in declared_params(cls).items()}
    hints = typing.get_type_hints(cls.__init__, include_extras=True)
    return {
        k: p.replace(annotation=hints.get(k, inspect.Parameter.empty))
        for k, p in inspect.signature(cls.__init__).parameters.items()
        if k not in ("self", "frames", "rng")
    }


def check_hooks(cls: type[Policy]) -> None:
    """Refuse a policy class that lacks a hook its path or mixins need, or still declares one of
    the retired capability flags; one line naming what is missing."""
    label = f"policy {cls.name or cls.__name__}"
    for flag, instead in _RETIRED.items():
        if any(flag in vars(b) for b in cls.__mro__):
            raise VmsimError(f"{label}: {flag} is no longer a policy attribute; declare {instead} (docs/plugins.md)")
    if not isinstance(cls.path, Path):
        raise VmsimError(f"{label}: path must be a vmsim.policies.Path, got {cls.path!r}")
    missing = sorted(getattr(cls, "__abstractmethods__", ()))
    if cls.path in (Path.HITS, Path.LRU_TABLE, Path.MRU_TABLE) and cls.hit is Policy.hit:
        missing.append(f"hit (path {cls.path.name})")
    if cls.path in (Path.FIFO_TABLE, Path.LRU_TABLE, Path.MRU_TABLE) and cls.adopt is Policy.adopt:
        missing.append(f"adopt (path {cls.path.name})")
    if issubclass(cls, Periodic) and "period" not in parameters(cls):
        missing.append("a period parameter (Periodic)")
    if missing:
        raise VmsimError(f"{label} does not define {', '.join(missing)}")


def register(cls: P) -> P:
    """Class decorator: add a policy to the registry under its name and aliases, once its hooks
    are checked (:func:`check_hooks`)."""
    check_hooks(cls)
    for key in (cls.name, *cls.aliases):
        key = key.lower()
        if key in REGISTRY or key in ALIASES:
            raise ValueError(f"policy name {key!r} is registered twice")
    REGISTRY[cls.name.lower()] = cls
    for alias in cls.aliases:
        ALIASES[alias.lower()] = cls.name.lower()
    return cls
