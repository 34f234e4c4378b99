"""Working-set sizes W(t, tau), kept incrementally.

Denning's working set of a process at its virtual time t is the set of pages it referenced in
(t - tau, t]. The kernel reports it in every sample (``kernel.ws_tau``) and working-set load control
uses it (``load_control.tau``), so it must cost O(1) amortised per reference and per query, never
O(pages): each window keeps its pages ordered by their latest reference and drops the ones that
fell out of the window at the front when it is asked its size.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable


class Window:
    """The pages referenced in the last ``tau`` of a process's virtual time."""

    __slots__ = ("_last", "tau")

    def __init__(self, tau: int) -> None:
        self.tau = tau
        #: page -> virtual time of its latest reference, oldest first (times never decrease).
        self._last: OrderedDict[int, int] = OrderedDict()

    def touch(self, pages: Iterable[int], vtime: int) -> None:
        """The distinct ``pages`` were referenced at ``vtime`` (no earlier than any before)."""
        last = self._last
        move = last.move_to_end
        for p in pages:
            last[p] = vtime
            move(p)

    def size(self, vtime: int) -> int:
        """W(vtime, tau): how many pages were referenced in (vtime - tau, vtime]."""
        last, cutoff = self._last, vtime - self.tau
        while last:
            page, t = next(iter(last.items()))
            if t > cutoff:
                break
            del last[page]
        return len(last)


class WorkingSets:
    """One Window per distinct tau in use; a process touches all of them at once."""

    __slots__ = ("_by_tau", "lasts", "windows")

    def __init__(self, taus: Iterable[int]) -> None:
        self._by_tau = {tau: Window(tau) for tau in dict.fromkeys(taus)}
        self.windows = tuple(self._by_tau.values())
        #: Each window's page -> latest reference time (for the slice loop's inline touches).
        self.lasts = tuple(w._last for w in self.windows)

    def touch(self, pages: Iterable[int], vtime: int) -> None:
        """Record references to ``pages`` at virtual time ``vtime`` in every window."""
        if len(self.windows) == 1:
            self.windows[0].touch(pages, vtime)
            return
        pages = list(pages)
        for w in self.windows:
            w.touch(pages, vtime)

    def touch1(self, page: int, vtime: int) -> None:
        """Record one reference (a fault's page) in every window."""
        for last in self.lasts:  # inline (once per fault): Window.touch of one page
            last[page] = vtime
            last.move_to_end(page)

    def size(self, tau: int, vtime: int) -> int:
        """W(vtime, tau): distinct pages referenced in the last ``tau`` of virtual time."""
        return self._by_tau[tau].size(vtime)
