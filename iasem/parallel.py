"""Independent tasks on this machine's cores or on a Dask cluster, with a progress bar.

:func:`map_tasks` is what :func:`iasem.power` runs its Monte Carlo chunks through. The results come back in
the order of the tasks, whichever worker finishes first, so the backend never changes a number.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from typing import Any

from threadpoolctl import threadpool_limits

from .errors import IasemError
from .progress import progress_bar

BACKENDS = ("local", "dask")


def check_backend(backend: str, n_jobs: int | None, scheduler: object) -> None:
    """Refuse an unknown backend, a bad number of jobs, or Dask without a scheduler, in plain words."""
    if backend not in BACKENDS:
        raise IasemError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1):
        raise IasemError(f"n_jobs must be a whole number of at least 1 (or None for all cores), not {n_jobs!r}")
    if backend == "dask" and scheduler is None:
        raise IasemError("backend='dask' needs scheduler=: the address of a Dask scheduler "
                         "('tcp://host:8786') or a distributed.Client")  # fmt: skip
    if backend == "local" and scheduler is not None:
        raise IasemError("scheduler= is for backend='dask'")


def map_tasks(func: Callable[..., Any], tasks: Sequence[tuple], *, backend: str = "local", n_jobs: int | None = None,
              scheduler: object = None, progress: bool | None = None, desc: str = "",
              threads: bool = False) -> list[Any]:  # fmt: skip
    """``[func(*task) for task in tasks]``, run in parallel.

    Parameters
    ----------
    func : callable
        A module-level function (it is pickled to the workers; with ``threads`` any callable).
    tasks : sequence of tuple
        The arguments of each call.
    backend : {"local", "dask"}
        "local": a pool of ``n_jobs`` workers (default: all cores; 1 runs in this process). "dask": the
        workers of ``scheduler``.
    threads : bool
        backend="local" with threads instead of processes, each with a one-thread BLAS: for tasks that spend
        their time in numpy on stacks of small matrices (the batched engine), which releases the GIL there;
        no start-up and no pickling. Pure-Python work (one fit after another) needs processes.
    scheduler : str or distributed.Client
        A Dask scheduler address, or a connected client (backend="dask").
    progress : bool or None
        Show a progress bar (None: when the output is a terminal or a notebook).
    desc : str
        The progress bar's label.

    Returns
    -------
    list
        The results, in the order of ``tasks``.
    """
    check_backend(backend, n_jobs, scheduler)
    results: list[Any] = [None] * len(tasks)
    with progress_bar(len(tasks), desc, progress) as bar:
        if backend == "dask":
            _on_dask(func, tasks, scheduler, results, bar)
            return results
        count = min(len(tasks), workers(n_jobs))
        if count <= 1:
            for i, task in enumerate(tasks):
                results[i] = func(*task)
                bar.update(1)
            return results
        if threads:
            with threadpool_limits(1), ThreadPoolExecutor(max_workers=count) as pool:
                _collect(pool, func, tasks, results, bar)
        else:
            with ProcessPoolExecutor(max_workers=count, initializer=threadpool_limits, initargs=(1,)) as pool:
                _collect(pool, func, tasks, results, bar)
    return results


def _collect(pool: Executor, func, tasks, results: list, bar) -> None:
    # Each worker is one core's worth of work: a multi-threaded BLAS in every worker would oversubscribe.
    futures = {pool.submit(func, *task): i for i, task in enumerate(tasks)}
    for future in as_completed(futures):
        results[futures[future]] = future.result()
        bar.update(1)


def workers(n_jobs: int | None = None) -> int:
    """The number of workers ``n_jobs`` asks for: all cores when None."""
    return n_jobs or os.cpu_count() or 1


def _on_dask(func, tasks, scheduler, results: list, bar) -> None:
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError:
        raise IasemError("backend='dask' needs dask.distributed: pip install 'iasem[dask]'") from None
    own = not isinstance(scheduler, Client)
    try:
        client = Client(scheduler) if own else scheduler
    except OSError as exc:
        raise IasemError(f"cannot reach the Dask scheduler at {scheduler!r}: {exc}") from None
    try:
        futures = [client.submit(func, *task, pure=False) for task in tasks]
        index = {future.key: i for i, future in enumerate(futures)}
        for future in dask_completed(futures):
            results[index[future.key]] = future.result()
            bar.update(1)
    finally:
        if own:
            client.close()
