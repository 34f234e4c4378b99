"""Reference strings as a course writes them: ``"7 0 1 2w 0"`` (a ``w`` suffix marks a write)."""

from __future__ import annotations

import re

import numpy as np

from vmsim.errors import VmsimError
from vmsim.hw.access import Chunk
from vmsim.limits import MAX_PAGE, describe

_TOKEN = re.compile(r"(\d+)([wWrR]?)")


def parse_refs(text: str) -> Chunk:
    """Parse pages separated by spaces or commas; ``2w`` writes page 2, ``2`` or ``2r`` reads it."""
    tokens = [t for t in re.split(r"[\s,]+", text.strip()) if t]
    if not tokens:
        raise VmsimError("the reference string is empty")
    pages: list[int] = []
    writes: list[int] = []
    for i, tok in enumerate(tokens, 1):
        m = _TOKEN.fullmatch(tok)
        if m is None:
            raise VmsimError(f"reference {i} is {tok!r}: expected a page number with an optional w suffix (e.g. 7 or 2w)")
        page = int(m.group(1)) if len(m.group(1)) <= 19 else MAX_PAGE + 1
        if page > MAX_PAGE:
            raise VmsimError(
                f"reference {i} is {tok[:30]!r}: a page number larger than {describe(MAX_PAGE)}, the largest vmsim holds"
            )
        pages.append(page)
        writes.append(1 if m.group(2) in ("w", "W") else 0)
    return Chunk(np.array(pages, dtype=np.int64), np.array(writes, dtype=np.uint8) if any(writes) else None)
