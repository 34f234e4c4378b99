"""The VM core: the FrameTable's owner, the Pager (the one fault path, which owns every counter),
the per-chunk run loops, ticks and OPT's future, driven by both the replay engine (engine/) and
the SimPy kernel (kernel/)."""

from vmsim.vm.pager import Account, Fault, Pager, Released, Scope, Table, Tables
from vmsim.vm.plan import Plan

__all__ = ["Account", "Fault", "Pager", "Plan", "Released", "Scope", "Table", "Tables"]
