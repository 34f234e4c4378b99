"""What several benchmark scripts share (a helper module, run from this folder)."""

from __future__ import annotations

import argparse


def repetitions(description: str) -> int:
    """The repetitions a benchmark runs: ``--repeat N`` (3 by default), or one with ``--quick``."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--repeat", type=int, default=3, help="repetitions of every case (median reported)")
    ap.add_argument("--quick", action="store_true", help="one repetition")
    args = ap.parse_args()
    return 1 if args.quick else int(args.repeat)
