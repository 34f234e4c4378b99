"""The OS side: fault handling and frame allocation (paging.py). The SimPy kernel (scheduler,
paging device, load control) builds on the same Pager."""

from vmsim.kernel.paging import Pager

__all__ = ["Pager"]
