"""Independent jobs in parallel: in this process, in local worker processes, or on a Dask cluster.

Used by sweeps, comparisons and curves. Results are keyed by the job's index, so what a caller
builds from them does not depend on the number of workers or on the order in which jobs finish.
Local workers ignore SIGINT: the parent's progress callback decides what Ctrl-C does, and
stopping terminates the runs still in flight. Dask is an optional extra (``vmsim[cluster]``).
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import os
import re
import signal
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from vmsim.errors import OptionError, VmsimError

if TYPE_CHECKING:  # the type alone: this module imports none of vmsim's layers
    from vmsim.metrics.progress import ProgressFn

__all__ = ["MISSING_DASK", "Totals", "default_workers", "run_jobs"]

J = TypeVar("J")
R = TypeVar("R")

MISSING_DASK = "--scheduler needs Dask: pip install 'vmsim[cluster]'"


class Totals:
    """References and faults summed over the runs finished so far, for a progress callback
    ``progress(references, faults)`` that returns True to stop."""

    def __init__(self, progress: ProgressFn | None) -> None:
        self.progress = progress
        self.references = 0
        self.faults = 0

    def add(self, references: int, faults: int, *, report: bool = True) -> bool:
        """Count a finished run; report the totals (unless ``report`` is false) and return
        whether to stop."""
        self.references += references
        self.faults += faults
        return report and self.progress is not None and self.progress(self.references, self.faults)

    def during(self) -> ProgressFn | None:
        """A callback for the run now going on in this process, reported on top of the totals."""
        progress, refs, faults = self.progress, self.references, self.faults
        if progress is None:
            return None
        return lambda r, f: progress(refs + r, None if f is None else faults + f)


def default_workers() -> int:
    """All the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (not Linux)
        return os.cpu_count() or 1


def run_jobs(
    fn: Callable[[J], R],
    jobs: Sequence[J],
    *,
    workers: int = 1,
    scheduler: str | None = None,
    on_result: Callable[[int, R], bool] | None = None,
) -> dict[int, R]:
    """Run ``fn(job)`` for every job; the results by job index.

    ``workers <= 1`` without a scheduler runs the jobs here, in order. Otherwise they run in
    ``workers`` local processes (``fn`` and the jobs must pickle), or, with ``scheduler``, on the
    Dask cluster at that address (``tcp://HOST:PORT``) or on a local Dask cluster of ``workers``
    processes (``"local"``). ``on_result(index, result)`` is called in this process as each job
    finishes; when it returns True the remaining jobs are dropped and what finished is returned.
    """
    if workers < 1:
        raise VmsimError(f"--workers must be at least 1, got {workers}")
    if scheduler is not None:
        check_scheduler(scheduler)
        return _run_dask(fn, jobs, workers, scheduler, on_result)
    results: dict[int, R] = {}
    if workers == 1 or len(jobs) <= 1:
        for i, job in enumerate(jobs):
            results[i] = r = fn(job)
            if on_result is not None and on_result(i, r):
                break
        return results
    call = functools.partial(_indexed, fn)
    with multiprocessing.get_context().Pool(min(workers, len(jobs)), initializer=_ignore_sigint) as pool:
        for i, r in pool.imap_unordered(call, enumerate(jobs)):
            results[i] = r
            if on_result is not None and on_result(i, r):
                break
    return results


def _indexed(fn: Callable[[Any], Any], item: tuple[int, Any]) -> tuple[int, Any]:
    return item[0], fn(item[1])


_SCHEDULER = re.compile(r"^(?:(?:tcp|tls|inproc|ucx|ws|wss)://)?\[?[A-Za-z0-9_.:-]+\]?:\d{1,5}$")


def check_scheduler(scheduler: str | None) -> None:
    """Before any run: ``--scheduler`` is ``local`` or an address such as ``tcp://HOST:PORT``."""
    if scheduler is None or scheduler == "local":
        return
    m = _SCHEDULER.match(scheduler)
    if m is None or not 0 < int(scheduler.rsplit(":", 1)[1]) < 65536:
        raise OptionError(
            f"--scheduler takes 'local' or an address such as tcp://HOST:PORT, got {scheduler!r}", field="--scheduler"
        )


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_dask(
    fn: Callable[[J], R],
    jobs: Sequence[J],
    workers: int,
    scheduler: str,
    on_result: Callable[[int, R], bool] | None,
) -> dict[int, R]:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as e:
        raise VmsimError(MISSING_DASK) from e
    cluster = None
    try:
        if scheduler == "local":
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
            )
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError, ValueError) as e:
        if cluster is not None:
            cluster.close()
        raise VmsimError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
    results: dict[int, R] = {}
    try:
        futures = client.map(_indexed, [fn] * len(jobs), list(enumerate(jobs)), pure=False)
        for future in as_completed(futures):
            i, r = future.result()
            results[i] = r
            if on_result is not None and on_result(i, r):
                client.cancel(futures)
                break
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return results
