"""The fast single-stream path (no SimPy) behind `refs`, `replay` and curves."""

from vmsim.engine.replay import Source, replay

__all__ = ["Source", "replay"]
