"""``vmsim new-policy NAME``: a documented skeleton policy (a working FIFO) and its tests.

The two files are written from the templates below. The policy file explains every hook and class
attribute a policy has; the test file pins the skeleton's textbook counts (FIFO's) with
:func:`vmsim.testing.assert_faults` and checks laws every policy obeys, so both pass as written and
the tests tell a student which numbers to change when the policy changes.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from vmsim.errors import VmsimError, check_output
from vmsim.policies.base import ALIASES, REGISTRY

__all__ = ["class_name", "write_skeleton"]

_NAME = re.compile(r"[a-z][a-z0-9_]*")

POLICY = Template('''\
"""$name: a page-replacement policy for vmsim, loaded as a plug-in.

As written it is FIFO (evict the page that was loaded longest ago): it works, and its tests in
test_$name.py pass. Change the TODOs to make it the policy you want.

Run it (the policy is registered for that one command, like a built-in):

    vmsim --policy-file $name.py:$cls refs "7 0 1 2 0 3 0 4 2 3 0 3 2 1 2 0 1 7 0 1" -f 3 -p $name --explain
    vmsim --policy-file $name.py:$cls compare TRACE -f 16,32,64 -p $name,lru,fifo,opt
    vmsim --policy-file $name.py:$cls policies
    python -m pytest test_$name.py

How vmsim drives a policy (the same template for every built-in one): on each access the MMU
looks the page up in the page table and sets the frame's referenced bit (and the dirty bit on a
write). On a hit nothing else happens, unless the policy's ``path`` is ``Path.HITS``, which
calls ``hit(frame)``. On a miss (a page fault) the kernel takes a free frame if there is one, else it
calls ``victim()`` and evicts the page in the frame returned (writing it back if dirty); it loads
the new page into that frame and calls ``insert(frame)``. ``remove(frame)`` tells the policy that
the kernel took a frame away for another reason (a process exited or was swapped out).

A policy only ever sees frame numbers 0..frames.n-1. One instance manages one replacement domain:
all frames under global replacement, one process's frames under local replacement.
"""

from __future__ import annotations

import random
from collections import OrderedDict

from vmsim.hw.frames import FrameTable
from vmsim.policies import Path, Policy, RepeatIsNoop


# RepeatIsNoop: an access that repeats the previous access to the same page changes nothing in
# this policy's state, so the replay engine may fold such repeats into one access (an exact
# shortcut). True for FIFO, LRU and Clock; not for a policy that counts hits (LFU), where a repeat
# adds one to the count: then drop the mixin (it is only slower). Other mixins, for policies that
# need them (see docs/plugins.md): Periodic (tick(now) every `period`), Releasing (give frames up
# at a fault), WantsIncoming (told the page coming in), Foresighted (the stream's future, as OPT).
class $cls(RepeatIsNoop, Policy):
    """TODO: say what this policy evicts and how it breaks ties (FIFO has none: load times differ)."""

    #: The name for --policy and scenarios (letters, digits, _ . -). It must not be the name or an
    #: alias of another registered policy (see `vmsim policies`).
    name = "$name"
    aliases: tuple[str, ...] = ()
    #: One line for `vmsim policies`. TODO: describe your policy.
    summary = "first in, first out (the vmsim new-policy skeleton)"

    #: How vmsim runs the policy between faults. Path.BITS: a hit only sets the referenced and
    #: dirty bits, which the policy reads at fault time (FIFO, Clock); Path.HITS: hit(frame) is
    #: called on every hit, needed when the order depends on hits (LRU, LFU), at the cost of a
    #: call per access. (The table paths, FIFO_TABLE, LRU_TABLE and MRU_TABLE, are the built-ins'
    #: fused fast paths: with one of them, insert and victim are bypassed.)
    path = Path.BITS

    def __init__(self, frames: FrameTable, rng: random.Random) -> None:
        # Parameters go after rng, each with a type (int, float, bool or str) and a default:
        #     def __init__(self, frames, rng, window: int = 4) -> None
        # and are set with -p $name:window=8 or, in a scenario, {kind: $name, window: 8}.
        super().__init__(frames, rng)
        # self.frames is the FrameTable, indexed by frame number:
        #   self.frames.referenced[f]  1 after any access to the page in f (the MMU sets it; a
        #                              policy may clear it, as Clock does: self.frames.referenced[f] = 0)
        #   self.frames.dirty[f]       1 if the page in f was written since it was loaded
        #   self.frames.page[f], self.frames.owner[f]   the virtual page and the process id
        #   self.frames.n              the number of frames in memory
        # self.rng is the run's seeded random.Random: use it (never the random module) for any
        # random choice, so a run repeats exactly with the same --seed.
        self._queue: OrderedDict[int, None] = OrderedDict()  # frames, oldest load first

    def insert(self, frame: int) -> None:
        """A page was just loaded into ``frame`` (its referenced bit is set)."""
        # TODO: record what your policy needs about the new page (its time, a counter, ...).
        self._queue[frame] = None

    def hit(self, frame: int) -> None:
        """The page in ``frame`` was accessed again. Called only when path is Path.HITS."""
        # TODO (LRU-like or counting policies): update the frame's place or count here.

    def victim(self) -> int:
        """Choose the frame to evict, forget it, and return it. Called only when this domain holds
        at least one frame; the frame returned must be one this policy holds."""
        # TODO: your choice of victim. FIFO: the oldest load.
        frame, _ = self._queue.popitem(last=False)
        return frame

    def remove(self, frame: int) -> None:
        """Forget ``frame``: the kernel freed it for another reason."""
        del self._queue[frame]

    def order(self) -> list[int]:
        """The frames this policy holds, next victim first where it has one (shown by --explain)."""
        return list(self._queue)

    def __len__(self) -> int:
        return len(self._queue)
''')

TESTS = Template('''\
"""Tests of the $name policy: python -m pytest test_$name.py

The textbook counts below are FIFO's, which is what the skeleton $name.py does. When you change
the policy, work out its counts by hand (vmsim refs ... -p $name --explain shows every step) and
put yours in TEXTBOOK. The other tests check laws that every replacement policy obeys.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from vmsim.engine import replay
from vmsim.policies import load_policy_file, lookup, parse_policy
from vmsim.testing import assert_faults
from vmsim.workloads import parse_refs

POLICY_FILE = Path(__file__).resolve().with_name("$name.py")
SILBERSCHATZ = "7 0 1 2 0 3 0 4 2 3 0 3 2 1 2 0 1 7 0 1"
BELADY = "1 2 3 4 1 2 5 1 2 3 4 5"

# (reference string, frames, faults). TODO: your policy's counts once you change it.
TEXTBOOK = [
    (SILBERSCHATZ, 3, 15),
    (SILBERSCHATZ, 4, 10),
    (BELADY, 3, 9),
    (BELADY, 4, 10),
]


@pytest.fixture(scope="module", autouse=True)
def policy() -> type:
    """Load the policy exactly as vmsim --policy-file $name.py:$cls does."""
    return load_policy_file(f"{POLICY_FILE}:$cls")


def test_it_is_registered(policy: type) -> None:
    assert lookup("$name") is policy


@pytest.mark.parametrize(("refs", "frames", "faults"), TEXTBOOK)
def test_textbook_faults(refs: str, frames: int, faults: int) -> None:
    assert_faults(refs, "$name", frames, faults)


def _random_refs(seed: int, n: int = 300, pages: int = 12) -> str:
    rng = random.Random(seed)
    return " ".join(str(rng.randrange(pages)) + ("w" if rng.random() < 0.2 else "") for _ in range(n))


def _run(refs: str, policy: str, frames: int, *, steps: bool = False):
    chunk = parse_refs(refs)
    return replay(lambda: [chunk], parse_policy(policy), frames, steps=steps)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("frames", [1, 3, 8])
def test_laws(seed: int, frames: int) -> None:
    refs = _random_refs(seed)
    mine, opt = _run(refs, "$name", frames), _run(refs, "opt", frames)
    assert mine.hits + mine.faults == mine.references == 300
    assert mine.faults >= opt.faults  # nothing beats OPT
    assert mine.faults >= mine.cold_faults  # every page faults at least once
    assert mine.writebacks <= mine.evictions <= mine.faults


@pytest.mark.parametrize("seed", range(3))
def test_repeat_is_noop_is_true_to_its_word(seed: int) -> None:
    """With RepeatIsNoop, replay folds immediate repeats; --explain (steps) never folds. The
    counts must agree, or the claim is wrong."""
    rng = random.Random(seed)
    refs = " ".join(str(p) for p in rng.choices(range(8), k=200) for _ in range(rng.randrange(1, 4)))
    folded, unfolded = _run(refs, "$name", 4), _run(refs, "$name", 4, steps=True)
    assert (folded.faults, folded.writebacks) == (unfolded.faults, unfolded.writebacks)
''')


def class_name(name: str) -> str:
    """``my_lfu`` -> ``MyLfu``."""
    return "".join(part.capitalize() for part in name.split("_") if part) or "Policy"


def write_skeleton(name: str, directory: Path, *, overwrite: bool = False) -> tuple[Path, Path]:
    """Write ``NAME.py`` and ``test_NAME.py`` into ``directory``; never overwrite unless asked."""
    if not _NAME.fullmatch(name):
        raise VmsimError(f"new-policy: NAME is lower-case letters, digits and _, starting with a letter, got {name!r}")
    if name in REGISTRY or name in ALIASES or name == "all":
        raise VmsimError(f"new-policy: {name!r} is already a built-in policy's name or alias; choose another")
    cls = class_name(name)
    policy, tests = directory / f"{name}.py", directory / f"test_{name}.py"
    for p in (policy, tests):
        check_output(p, force=overwrite, mkdir=True)  # --dir is created if need be
    try:
        directory.mkdir(parents=True, exist_ok=True)
        policy.write_text(POLICY.substitute(name=name, cls=cls))
        tests.write_text(TESTS.substitute(name=name, cls=cls))
    except OSError as e:
        raise VmsimError(f"cannot write: {e.strerror or e}", source=str(directory)) from None
    return policy, tests
