"""Pages known by process and page number, for the policies that remember pages beyond the frames
they hold (ghost lists, test periods, non-resident history): ARC, 2Q, S3-FIFO, LIRS, CLOCK-Pro.
(A private module: the registry does not import it as a policy.)
"""

from __future__ import annotations

from vmsim.policies.base import Policy


def page_key(owner: int, page: int) -> int:
    """The number a policy keeps for a page of a process: distinct for every (process, page)."""
    return page | owner << 64


class PageKeys(Policy):
    """Base class: ``_key[frame]`` is the key of the page in ``frame``, recorded at its load by
    ``_keep_key`` (which ``insert`` calls first)."""

    def setup(self) -> None:
        super().setup()
        self._key = [0] * self.frames.n

    def _keep_key(self, frame: int) -> int:
        """Record, and return, the key of the page just loaded into ``frame``."""
        key = self.frames.page[frame] | self.frames.owner[frame] << 64  # page_key(), inlined: every fault
        self._key[frame] = key
        return key


class ResidentKeys(PageKeys):
    """PageKeys whose lists hold keys, resident or not (LIRS, CLOCK-Pro): ``_frame`` maps the key
    of each resident page to its frame; ``_keep_key`` adds it, ``_drop_key`` takes it out when
    the page leaves memory."""

    def setup(self) -> None:
        super().setup()
        self._frame: dict[int, int] = {}

    def _keep_key(self, frame: int) -> int:
        key = super()._keep_key(frame)
        self._frame[key] = frame
        return key

    def _drop_key(self, frame: int) -> int:
        """Forget that the page in ``frame`` is resident; return its key."""
        key = self._key[frame]
        del self._frame[key]
        return key
