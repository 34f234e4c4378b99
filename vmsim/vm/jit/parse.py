"""A compiled parser of the common lackey block (what ``traces._lackey_fast`` accepts), used once
numba is loaded for a compiled replay; anything else (banners, blank lines, errors) goes back to
the vectorised NumPy parsers, which name a bad line."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def lackey(a, shift, pages, writes, is_i):  # type: ignore[no-untyped-def]
    """Parse ``a`` (whole lines, each ending in a newline) into the output arrays; the number of
    accesses, or -1 if some line is not a plain ``I  ADDR,SIZE`` / `` L|S|M ADDR,SIZE`` line with
    a page number that fits 63 bits."""
    n = len(a)
    i = 0
    k = 0
    skip = shift >> 2
    while i < n:
        if n - i < 7:
            return -1
        c0, c1 = a[i], a[i + 1]
        if c0 == 73 and c1 == 32:
            ins, w = 1, 0
        elif c0 == 32 and (c1 == 76 or c1 == 83 or c1 == 77):
            ins, w = 0, 1 if c1 != 76 else 0
        else:
            return -1
        if a[i + 2] != 32:
            return -1
        j = i + 3
        v = np.uint64(0)
        nd = 0
        while j < n:
            c = a[j]
            if 48 <= c <= 57:
                d = c - 48
            elif 97 <= c <= 102:
                d = c - 87
            elif 65 <= c <= 70:
                d = c - 55
            else:
                break
            v = (v << np.uint64(4)) | np.uint64(d)
            nd += 1
            j += 1
        if nd < 1 or nd > 16 or nd - skip > 15 or j >= n or a[j] != 44:
            return -1
        j += 1
        sd = 0
        while j < n and 48 <= a[j] <= 57:
            j += 1
            sd += 1
        if sd < 1 or j >= n or a[j] != 10:
            return -1
        pages[k] = np.int64(v >> np.uint64(shift))
        writes[k] = w
        is_i[k] = ins
        k += 1
        i = j + 1
    return k
