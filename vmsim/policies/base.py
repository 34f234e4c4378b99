"""The interface every replacement policy implements, and the decorator that registers one.

A policy instance manages one *replacement domain*: the set of frames it may choose victims from.
Under global replacement one instance holds every frame; under local replacement each process has
its own instance holding that process's frames. The fault handler drives every policy with the same
template (libCacheSim's): look the page up; on a miss take a free frame or ask ``victim()``; then
``insert()`` the new page's frame.

Hooks are called only when a policy asks for them: ``hit()`` only when ``needs_hit`` is true, so
FIFO and Clock cost nothing on a hit (the MMU still sets the referenced and dirty bits in the
FrameTable, which any policy may read).

Time, for the policies that need it, comes in one of two ways:

- **Periodic ticks** (``periodic``: NRU, aging, NFU, WSClock, working set). The policy takes a
  ``period`` parameter and the driver calls ``tick(now)`` every ``period`` units of virtual time,
  ``now`` being that time (the tick's number times the period). The replay engine counts the
  accesses of the stream (every process, before folding repeats): a tick follows the
  ``period``-th, ``2 * period``-th, ... access. The kernel ticks from its own clock: a SimPy
  daemon every ``period * timing.memory_access`` of simulated time, with
  ``now = env.now // memory_access``. So one unit is one reference in replay and the time of one
  memory access in ``simulate``. A tick may return frames the policy gives up (the working set's
  pages that left the window); the driver frees them through the Pager, counted as evictions.
- **Counting references** in ``hit()`` and ``insert()`` (``needs_hit`` and no ``repeat_is_noop``,
  so every access reaches the policy: PFF, LFU, MFU).

A policy that gives up frames at a fault (``releases_on_fault``: PFF) returns them from
``release()``, which the Pager calls before it looks for a free frame. A policy whose victim
depends on the page coming in (``wants_incoming``: ARC) is told it by ``incoming()`` just before
``victim()``; the replay engine runs such policies through the Pager's fault path.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any, ClassVar, TypeVar

from vmsim.errors import VmsimError
from vmsim.hw.frames import FrameTable

REGISTRY: dict[str, type[Policy]] = {}
ALIASES: dict[str, str] = {}

P = TypeVar("P", bound="type[Policy]")


class Policy:
    """Base class of replacement policies. Subclasses keep their own order over their frames."""

    #: Registry name (lower case) and aliases; case does not matter when looking them up.
    name: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    #: One line for `vmsim policies` and error messages.
    summary: ClassVar[str] = ""
    #: Call ``hit()`` on every hit (LRU needs it; FIFO and Clock do not).
    needs_hit: ClassVar[bool] = False
    #: Needs the future of the stream: the engine calls ``set_future()`` before the run.
    needs_future: ClassVar[bool] = False
    #: An access that repeats the previous access to the same page changes nothing in this
    #: policy's state, so the replay engine may fold such repeats into one (an exact shortcut).
    repeat_is_noop: ClassVar[bool] = False
    #: The victim order is the order of a page table kept as an ordered dict: "fifo" (load order,
    #: victim first), "lru" (hits move a page to the end, victim first) or "mru" (hits move a page
    #: to the end, victim last). The replay engine then runs a fused loop over that ordered page
    #: table and hands the order back with ``adopt()`` at the end of each chunk.
    table_order: ClassVar[str | None] = None
    #: Wants ``tick(now)`` every ``period`` (a constructor parameter) units of virtual time.
    periodic: ClassVar[bool] = False
    #: Gives up frames at a fault: the Pager calls ``release()`` before it places the page.
    releases_on_fault: ClassVar[bool] = False
    #: Chooses its victim knowing the page the fault loads: the Pager calls ``incoming()`` first.
    wants_incoming: ClassVar[bool] = False

    def __init__(self, frames: FrameTable, rng: random.Random) -> None:
        self.frames = frames
        self.rng = rng

    @classmethod
    def folds_repeats(cls, **params: Any) -> bool:
        """Whether ``repeat_is_noop`` holds with these parameters (override where it depends)."""
        return cls.repeat_is_noop

    @classmethod
    def validate(cls, **params: Any) -> None:
        """Raise VmsimError naming the parameter if a value is out of range (override per policy)."""

    @classmethod
    def require(cls, ok: bool, param: str, rule: str, value: Any) -> None:
        """For ``validate``: fail with one line naming the policy, the parameter and its rule."""
        if not ok:
            raise VmsimError(f"policy {cls.name}: parameter {param} must be {rule}, got {value!r}")

    def tick(self, now: int) -> list[int]:
        """For ``periodic`` policies: the periodic work at virtual time ``now``. Returns the frames
        the policy gives up (it has already forgotten them); usually none."""
        return []

    def release(self) -> list[int]:
        """For ``releases_on_fault`` policies: at a fault, before the page is placed, the frames
        the policy gives up (it has already forgotten them)."""
        return []

    def set_capacity(self, frames: int) -> None:
        """The number of frames this domain may hold: its quota under local scope (called when the
        process is added and whenever the quota changes); every frame under global scope, where
        it is never called. Policies that size queues from their capacity override this."""

    def incoming(self, owner: int, page: int) -> None:
        """For ``wants_incoming`` policies: the page (of process ``owner``) that the coming fault
        loads into this domain, told just before ``victim()``."""

    def insert(self, frame: int) -> None:
        """A page has just been loaded into ``frame`` (referenced bit set, dirty if written)."""
        raise NotImplementedError

    def hit(self, frame: int) -> None:
        """The page in ``frame`` was accessed again (only when ``needs_hit``)."""

    def victim(self) -> int:
        """Choose a frame of this domain to evict, and forget it. Called only when non-empty."""
        raise NotImplementedError

    def remove(self, frame: int) -> None:
        """Forget ``frame``: the kernel freed it for another reason (exit, swap-out, reallocation)."""
        raise NotImplementedError

    def order(self) -> list[int]:
        """This domain's frames in the policy's own order, next victim first where it has one."""
        raise NotImplementedError

    def adopt(self, frames: list[int]) -> None:
        """Take ``frames`` (oldest first, in ``table_order``'s sense) as this domain's whole state."""
        raise NotImplementedError

    def set_future(self, next_use: Iterable[int]) -> None:
        """For ``needs_future`` policies: the next-use time of every access this domain will see,
        in order (hits and loads alike)."""

    def __len__(self) -> int:
        return len(self.order())


def clear_referenced(frames: FrameTable, members: Iterable[int], count: int) -> None:
    """Clear the referenced bits of a domain's ``count`` frames ``members``. When the domain holds
    every frame in use (global scope), all bits are cleared at once: free frames have theirs clear."""
    ref = frames.referenced
    if count == frames.n - frames.free_count:
        ref[:] = bytes(frames.n)
    else:
        for f in members:
            ref[f] = 0


def register(cls: P) -> P:
    """Class decorator: add a policy to the registry under its name and aliases."""
    for key in (cls.name, *cls.aliases):
        key = key.lower()
        if key in REGISTRY or key in ALIASES:
            raise ValueError(f"policy name {key!r} is registered twice")
    REGISTRY[cls.name.lower()] = cls
    for alias in cls.aliases:
        ALIASES[alias.lower()] = cls.name.lower()
    return cls
