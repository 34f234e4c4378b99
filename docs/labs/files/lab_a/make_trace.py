"""Write lab_a.rw, the lab (a) trace: a hot set of 6 pages used with skewed frequencies, broken
every 100 accesses by a scan over 12 cold pages (where LFU keeps the hot set and LRU does not).
Seeded, so it is the same file every time: python make_trace.py"""

import random

rng = random.Random(6)
lines = []
for t in range(1200):
    # The first 12 of every 100 accesses scan cold pages, each used once; the rest use hot pages
    # 0..5, page 0 the most.
    page = 100 + (t // 100) * 12 + t % 100 if t % 100 < 12 else min(int(rng.expovariate(0.6)), 5)
    op = "W" if rng.random() < 0.25 else "R"
    lines.append(f"{op} {page * 4096 + rng.randrange(4096):x}")
with open("lab_a.rw", "w") as f:
    f.write("\n".join(lines) + "\n")
