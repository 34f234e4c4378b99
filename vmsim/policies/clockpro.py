"""CLOCK-Pro: Clock with hot and cold pages and a test period for recently evicted cold pages."""

from __future__ import annotations

from vmsim.policies._keys import ResidentKeys
from vmsim.policies.base import Fraction, Path, register

_HOT, _COLD, _TEST = 0, 1, 2


@register
class ClockPro(ResidentKeys):
    """CLOCK-Pro (Jiang, Chen & Zhang, USENIX ATC 2005), in the simplified form most
    implementations use (every resident cold page is in its test period).

    One circular list holds hot pages, resident cold pages and non-resident cold pages still in
    their test period ("test" pages, at most ``c``); new pages join it just behind the hot hand.
    The referenced bit is the MMU's, cleared at load, so a hit costs nothing. ``m_c``, the target
    number of cold pages, starts at ``max(1, floor(cold_ratio * c))`` and adapts: +1 (at most
    ``c``) when a test page is faulted in again, -1 (at least 1) when the hot hand ends a test
    page's test period by removing it.

    - Fault on a test page: it leaves its place and joins as a hot page; otherwise it joins cold.
    - The cold hand (victim search) passes hot and test pages; a cold page with its bit set
      becomes hot (bit cleared); the first cold page with its bit clear is the victim and stays
      in the list as a test page.
    - Whenever more than ``c - m_c`` pages are hot, or more than ``c`` are test pages, the hot hand
      moves: a hot page with its bit set has it cleared, one with it clear turns cold; a test page
      is removed; cold pages are passed.

    ``c`` is the number of frames the domain holds when it evicts. Cost: amortised O(1) per fault.
    """

    name = "clockpro"
    aliases = ("clock-pro",)
    summary = "CLOCK-Pro: Clock with hot/cold pages and test periods; adaptive cold target (cold_ratio)"
    path = Path.BITS
    cold_ratio: Fraction = 0.5

    def setup(self) -> None:
        super().setup()
        self._nxt: dict[int, int] = {}
        self._prv: dict[int, int] = {}
        self._status: dict[int, int] = {}
        self._hot_hand: int | None = None
        self._cold_hand: int | None = None
        self._n = [0, 0, 0]  # hot, cold, test
        self._cap = self.frames.n
        self.m_c = max(1, int(self.cold_ratio * self._cap))
        self._evicted = False

    # --- the circular list ---------------------------------------------------------------------

    def _link(self, key: int) -> None:
        hand = self._hot_hand
        if hand is None:
            self._nxt[key] = self._prv[key] = key
            self._hot_hand = self._cold_hand = key
            return
        before = self._prv[hand]
        self._nxt[before] = key
        self._prv[key] = before
        self._nxt[key] = hand
        self._prv[hand] = key

    def _unlink(self, key: int) -> None:
        nxt, prv = self._nxt, self._prv
        after, before = nxt.pop(key), prv.pop(key)
        if after == key:
            self._hot_hand = self._cold_hand = None
            return
        nxt[before] = after
        prv[after] = before
        if self._hot_hand == key:
            self._hot_hand = after
        if self._cold_hand == key:
            self._cold_hand = after

    # --- the hands -------------------------------------------------------------------------------

    def _hot_step(self) -> None:
        key = self._hot_hand
        assert key is not None
        status = self._status[key]
        if status == _TEST:
            self._unlink(key)  # moves the hand on
            del self._status[key]
            self._n[_TEST] -= 1
            self.m_c = max(1, self.m_c - 1)
            return
        if status == _HOT:
            f = self._frame[key]
            ref = self.frames.referenced
            if ref[f]:
                ref[f] = 0
            else:
                self._status[key] = _COLD
                self._n[_HOT] -= 1
                self._n[_COLD] += 1
        self._hot_hand = self._nxt[key]

    def _balance(self) -> None:
        n = self._n
        while n[_HOT] > self._cap - self.m_c or n[_TEST] > self._cap:
            self._hot_step()

    # --- the policy interface --------------------------------------------------------------------

    def insert(self, frame: int) -> None:
        self.frames.referenced[frame] = 0
        key = self._keep_key(frame)
        if self._status.get(key) == _TEST:
            self._unlink(key)
            self._n[_TEST] -= 1
            self.m_c = min(self._cap, self.m_c + 1)
            self._status[key] = _HOT
            self._n[_HOT] += 1
            self._link(key)
            self._balance()
        else:
            self._status[key] = _COLD
            self._n[_COLD] += 1
            self._link(key)

    def victim(self) -> int:
        n, status, nxt = self._n, self._status, self._nxt
        size = n[_HOT] + n[_COLD]
        if size != self._cap:
            # Before the first eviction m_c has not adapted yet: size it from the real capacity.
            self.m_c = min(self.m_c, size) if self._evicted else max(1, int(self.cold_ratio * size))
            self._cap = size
            self._balance()
        self._evicted = True
        while n[_COLD] == 0:
            self._hot_step()
        ref = self.frames.referenced
        while True:
            key = self._cold_hand
            assert key is not None
            if status[key] == _COLD:
                f = self._frame[key]
                if ref[f]:
                    ref[f] = 0
                    status[key] = _HOT
                    n[_COLD] -= 1
                    n[_HOT] += 1
                    self._cold_hand = nxt[key]
                    self._balance()
                    continue
                status[key] = _TEST
                self._drop_key(f)
                n[_COLD] -= 1
                n[_TEST] += 1
                self._cold_hand = nxt[key]
                self._balance()
                return f
            self._cold_hand = nxt[key]

    def remove(self, frame: int) -> None:
        key = self._drop_key(frame)
        self._n[self._status.pop(key)] -= 1
        self._unlink(key)

    def order(self) -> list[int]:
        out: list[int] = []
        key = self._cold_hand
        for _ in range(len(self._nxt)):
            assert key is not None
            if self._status[key] != _TEST:
                out.append(self._frame[key])
            key = self._nxt[key]
        return out

    def __len__(self) -> int:
        return self._n[_HOT] + self._n[_COLD]
