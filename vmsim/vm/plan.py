"""How the VM core drives one policy: the one place that reads a policy's declared path and mixins
(vmsim.policies.base) and turns them into the drivers' choices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vmsim.policies import PolicySpec
from vmsim.policies.base import Foresighted, Path, Periodic, Releasing, WantsIncoming

TableOrder = Literal["fifo", "lru", "mru"]

_TABLES: dict[Path, TableOrder] = {Path.FIFO_TABLE: "fifo", Path.LRU_TABLE: "lru", Path.MRU_TABLE: "mru"}


@dataclass(frozen=True)
class Plan:
    """What the replay engine, the kernel and the Pager do for a policy, decided once per run."""

    #: Call the policy's ``hit()`` on every hit.
    hits: bool
    #: The victim order is the page table's own (a fused loop keeps it, ``adopt()`` hands it back).
    table: TableOrder | None
    #: Only the order of last accesses matters to the policy (LRU, MRU): a run of hits may be told
    #: once per page, in last-access order, with the same result.
    recency_only: bool
    #: Replay may fold an access that repeats the previous one to the same page.
    folds: bool
    #: ``tick(now)`` every ``period`` (None: never).
    period: int | None
    #: The policy gives up frames at a fault (``release()``).
    releases: bool
    #: The policy is told the incoming page before ``victim()``.
    incoming: bool
    #: The policy needs the stream's future (``set_future()``).
    future: bool

    @property
    def general_faults(self) -> bool:
        """Every fault must go through ``Pager.fault`` (it asks the policy more than a victim)."""
        return self.releases or self.incoming

    @classmethod
    def of(cls, spec: PolicySpec) -> Plan:
        """The drivers' plan for a policy, from its declared path and mixins."""
        p = spec.cls
        table = _TABLES.get(p.path)
        return cls(
            hits=p.path in (Path.HITS, Path.LRU_TABLE, Path.MRU_TABLE),
            table=table,
            recency_only=table in ("lru", "mru"),
            folds=p.folds_repeats(**spec.params),
            period=int(spec.params["period"]) if issubclass(p, Periodic) else None,
            releases=issubclass(p, Releasing),
            incoming=issubclass(p, WantsIncoming),
            future=issubclass(p, Foresighted),
        )
