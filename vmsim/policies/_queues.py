"""Queues of frames kept in ordered dicts, shared by several policies: one queue whose front is the
victim (FIFO, LRU, MRU, second chance, PFF), and the probation, main and ghost queues of 2Q and
S3-FIFO. (A private module: the registry does not import it as a policy.)
"""

from __future__ import annotations

import abc
from collections import OrderedDict
from typing import Annotated, ClassVar

from vmsim.errors import VmsimError
from vmsim.policies._keys import PageKeys
from vmsim.policies.base import Policy, Range

#: The size of a ghost queue, as a fraction of the frames (it may remember more pages than fit).
GhostRatio = Annotated[float, Range(0.0, 100.0)]


class FrameQueue(Policy):
    """Base class: the domain's frames in one ordered dict, ``_queue``, oldest first (load order,
    unless a subclass reorders it); the victim is its front. ``_bind()`` is called whenever
    ``_queue`` is a new dict (in ``setup`` and ``adopt``), for a subclass that binds to it."""

    def setup(self) -> None:
        super().setup()
        self._queue: OrderedDict[int, None] = OrderedDict()
        self._bind()

    def _bind(self) -> None:
        """``_queue`` is a new dict."""

    def insert(self, frame: int) -> None:
        self._queue[frame] = None

    def victim(self) -> int:
        return self._queue.popitem(last=False)[0]

    def remove(self, frame: int) -> None:
        del self._queue[frame]

    def adopt(self, frames: list[int]) -> None:
        self._queue = OrderedDict.fromkeys(frames)
        self._bind()

    def order(self) -> list[int]:
        return list(self._queue)

    def __len__(self) -> int:
        return len(self._queue)


class GhostFiltered(PageKeys):
    """Base class of 2Q and S3-FIFO. A faulted page enters the probation FIFO ``_new`` (2Q's A1in,
    S3-FIFO's S), unless its key is in the ghost FIFO ``_ghost`` (A1out, G) of pages recently
    evicted from probation: then it enters the main queue ``_main`` (Am, M). The ghost FIFO keeps
    the last ``_ghost_cap`` keys, a size the subclass sets from its parameter ``_ghost_param``;
    it is trimmed at the next load, once the incoming page has been looked up (as in 2Q, where the
    faulting page is looked up before anything is evicted). ``_main_next`` says which queue the
    next victim comes from."""

    _ghost_param: ClassVar[str]

    def setup(self) -> None:
        ratio = getattr(self, self._ghost_param)
        if ratio < 0.0:
            raise VmsimError(f"policy {self.name}: {self._ghost_param} is a fraction of the frames, at least 0, got {ratio}")
        super().setup()
        self._new: OrderedDict[int, None] = OrderedDict()
        self._main: OrderedDict[int, None] = OrderedDict()
        self._ghost: OrderedDict[int, None] = OrderedDict()
        self._ghost_cap = 0

    @abc.abstractmethod
    def _main_next(self) -> bool:
        """Whether the next victim comes from the main queue rather than from probation."""

    def _enter(self, frame: int) -> None:
        """Place a faulted page whose key is not in the ghost FIFO: at the back of probation."""
        self._new[frame] = None

    def _to_ghost(self, frame: int) -> int:
        """``frame``, just evicted from probation: its page's key joins the ghost FIFO."""
        if self._ghost_cap > 0:
            self._ghost[self._key[frame]] = None
        return frame

    def insert(self, frame: int) -> None:
        key = self._keep_key(frame)
        ghost = self._ghost
        if key in ghost:
            del ghost[key]
            self._main[frame] = None
        else:
            self._enter(frame)
        if len(ghost) > self._ghost_cap:
            ghost.popitem(last=False)

    def remove(self, frame: int) -> None:
        if frame in self._new:
            del self._new[frame]
        else:
            del self._main[frame]

    def order(self) -> list[int]:
        if self._main_next():
            return [*self._main, *self._new]
        return [*self._new, *self._main]

    def __len__(self) -> int:
        return len(self._new) + len(self._main)
