"""Plain-Python LRU miss counter: the script a person writes in 15 lines, as a speed yardstick.

Usage: python plain_lru.py TRACE FRAMES. TRACE is a `pages` file (one page number per line) or a
valgrind lackey trace (name contains "lackey", may be .gz; 4 KiB pages). Prints the miss count.
"""

import gzip
import sys
from collections import OrderedDict

path, frames = sys.argv[1], int(sys.argv[2])
lackey = "lackey" in path
cache: OrderedDict[int, None] = OrderedDict()
misses = 0
with gzip.open(path, "rt") if path.endswith(".gz") else open(path) as f:
    for line in f:
        if lackey:
            if line.startswith("=="):
                continue
            page = int(line[3 : line.index(",")], 16) >> 12
        else:
            page = int(line)
        if page in cache:
            cache.move_to_end(page)
        else:
            misses += 1
            cache[page] = None
            if len(cache) > frames:
                cache.popitem(last=False)
print(misses)
