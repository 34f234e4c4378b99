"""FIFO: evict the page that was loaded longest ago."""

from __future__ import annotations

from typing import ClassVar

from vmsim.policies._queues import FrameQueue
from vmsim.policies.base import Path, RepeatIsNoop, register


@register
class FIFO(RepeatIsNoop, FrameQueue):
    """First in, first out. Hits change nothing. Ties cannot occur: load times are distinct."""

    name = "fifo"
    aliases: ClassVar[tuple[str, ...]] = ("first-in-first-out",)  # a subclass may have more
    summary = "first in, first out: evict the page loaded longest ago"
    path = Path.FIFO_TABLE
