"""The shared shape of the policies that pick their victim by scanning every page of the domain
for the smallest key (aging, NFU, working set): O(n) per fault, as the textbook algorithms are,
because the key includes the referenced bit, which the MMU changes without telling the OS.

Pages are kept in load order, so ``min`` breaks ties in favour of the page loaded first. (A
private module: the registry does not import it as a policy.)
"""

from __future__ import annotations

import random
from typing import Any

from vmsim.hw.frames import FrameTable
from vmsim.policies.base import Policy


class KeyScan(Policy):
    """Base class: subclasses add pages to ``_members`` in ``insert`` and define ``_key``."""

    def __init__(self, frames: FrameTable, rng: random.Random) -> None:
        super().__init__(frames, rng)
        self._members: dict[int, None] = {}  # load order

    def _key(self, frame: int) -> Any:
        raise NotImplementedError

    def victim(self) -> int:
        f = min(self._members, key=self._key)
        del self._members[f]
        return f

    def remove(self, frame: int) -> None:
        del self._members[frame]

    def order(self) -> list[int]:
        return sorted(self._members, key=self._key)

    def __len__(self) -> int:
        return len(self._members)
