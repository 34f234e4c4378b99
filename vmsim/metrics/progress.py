"""A progress line on stderr for long runs, and Ctrl-C as "stop and show what you have".

The line appears only once a run has taken ``delay`` seconds, only when stderr is a terminal
(and not with ``--quiet``), and is redrawn at most every ``interval`` seconds. ``VMSIM_PROGRESS=1``
shows it on any stderr (a log file, CI) and ``VMSIM_PROGRESS_DELAY=SECONDS`` sets the delay. While a Progress is
active, the first Ctrl-C asks the run to stop at its next checkpoint (the engines then return
results marked partial); a second Ctrl-C interrupts at once.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any, TextIO

#: A progress callback, ``progress(references, faults)``: True asks the run to stop. ``faults`` is None
#: where it is not known yet (a curve's first pass). A `Progress` is one.
ProgressFn = Callable[[int, int | None], bool]


class Progress:
    """Callable as ``progress(references, faults)``; returns True once the user asked to stop.
    ``faults`` may be None where they are not known yet (a curve's first pass)."""

    def __init__(
        self, label: str, *, enabled: bool | None = None, stream: TextIO | None = None, delay: float = 2.0, interval: float = 0.25
    ) -> None:
        self.stream = stream or sys.stderr
        forced = os.environ.get("VMSIM_PROGRESS", "") not in ("", "0")
        self.enabled = (forced or self.stream.isatty()) if enabled is None else enabled
        self.label = label
        try:
            self.delay = float(os.environ.get("VMSIM_PROGRESS_DELAY", delay))
        except ValueError:
            self.delay = delay
        self.interval = interval
        self.stop = False
        self._start = time.monotonic()
        self._last = 0.0
        self._width = 0
        self._old: Any = None

    def relabel(self, label: str) -> None:
        """A new run of a sweep: new label, new rate."""
        self.label = label
        self._start = time.monotonic()

    def __call__(self, references: int, faults: int | None) -> bool:
        if self.enabled:
            now = time.monotonic()
            if now - self._start >= self.delay and now - self._last >= self.interval:
                self._last = now
                rate = references / (now - self._start)
                counted = "" if faults is None else f", {faults:,} faults"
                text = f"{self.label}: {references:,} references{counted}, {rate / 1e6:.2f} M/s"
                if self.stop:
                    text += " (stopping)"
                self.stream.write("\r" + text.ljust(self._width))
                self.stream.flush()
                self._width = len(text)
        return self.stop

    def _interrupt(self, signum: int, frame: FrameType | None) -> None:
        if self.stop:
            raise KeyboardInterrupt
        self.stop = True

    def __enter__(self) -> Progress:
        try:
            self._old = signal.signal(signal.SIGINT, self._interrupt)
        except ValueError:  # not the main thread: no signal handling
            self._old = None
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        if self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
