"""Worker processes that stop cleanly: `process_pool` for the commands that run work in parallel (`report
--prove`'s proofs, `sweep --workers N`), and `signals_raise` for `verify` itself.

Ctrl-C reaches a terminal's whole foreground process group. The workers ignore SIGINT (they are started
with it blocked, and ignore it before unblocking it, so not even a worker still starting up sees it), so only
the parent sees it (one "interrupted" line, not one traceback per worker). While a pool runs, the parent's
SIGINT and SIGTERM terminate its workers; the pool is joined, with its thread and queues, and only then is
the signal raised where it is safe (see process_pool), so nothing is left running and no semaphore of the
pool leaks (Python's resource tracker would otherwise warn "leaked semaphore objects" at exit, and a pool
interrupted inside a future's wait could hang the exit). SIGTERM becomes the `Terminated` exception under
`signals_raise`, so it takes the same path as Ctrl-C (verify.cli prints one line and exits 143).
"""
from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Iterator, List

SIGTERM = signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the parent was (a KeyboardInterrupt: every cleanup that handles Ctrl-C runs)."""


def _ignore_interrupts() -> None:   # a worker's initializer: Ctrl-C is the parent's to handle
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@contextmanager
def _sigint_blocked() -> Iterator[None]:
    """SIGINT held back in this thread while inside (a process or thread started here inherits the block);
    one that arrives meanwhile is delivered on the way out."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextmanager
def signals_raise() -> Iterator[List[int]]:
    """While inside: SIGINT raises KeyboardInterrupt and SIGTERM raises Terminated, and the list yielded
    records which arrived (so the caller can say so even where a library swallowed the exception). In the
    main thread only; elsewhere nothing changes and the list stays empty."""
    received: List[int] = []

    def handler(signum, frame):
        received.append(signum)
        raise Terminated() if signum == SIGTERM else KeyboardInterrupt()
    try:
        previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, SIGTERM)}
    except ValueError:   # not the main thread: signals cannot be handled here
        yield received
        return
    try:
        yield received
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


@contextmanager
def process_pool(workers: int, **options) -> Iterator["object"]:
    """A spawn-context ProcessPoolExecutor whose workers ignore SIGINT. Inside the block (main thread), SIGINT and
    SIGTERM do not raise where the parent happens to be (inside a future's wait, an exception can leave the
    future's lock held, and the pool's thread then hangs the exit); they terminate the workers, so every
    waiting future fails at once (concurrent.futures' BrokenProcessPool) and `pool.stopped` is set for loops
    that should stop early. When the block ends, everything is joined, and then the signal is delivered again
    to the handler that was there before (KeyboardInterrupt, or verify.cli's one line). When the block raises
    for any other reason, the workers are terminated and joined before the exception goes on.
    `options`: other ProcessPoolExecutor arguments (max_tasks_per_child, ...)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    class Pool(ProcessPoolExecutor):
        def submit(self, *args, **kwargs):   # workers (and the pool's thread that starts later ones) start here
            with _sigint_blocked():
                return super().submit(*args, **kwargs)
    pool = Pool(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_ignore_interrupts, **options)
    pool.stopped = []

    def on_signal(signum, frame):
        pool.stopped.append(signum)
        _terminate_workers(pool)
    try:
        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, SIGTERM)}
    except ValueError:   # not the main thread: signals are the main thread's to handle
        previous = {}
    try:
        try:
            yield pool
        except BaseException:
            _stop(pool)
            if not pool.stopped:
                raise
            # a consequence of the signal (BrokenProcessPool): the signal is what the caller hears about
        else:
            pool.shutdown(wait=True)
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
    if pool.stopped:
        signal.raise_signal(pool.stopped[0])   # to the handler restored above, now, outside the pool's machinery


def _terminate_workers(pool) -> None:
    for _ in range(3):   # the pool's thread may be changing the table of workers right now
        try:
            workers = list((getattr(pool, "_processes", None) or {}).values())
            break
        except RuntimeError:
            continue
    else:
        return
    for process in workers:
        try:
            if process.is_alive():
                process.terminate()
        except (OSError, ValueError, AssertionError):   # already gone, or not started
            pass


def _stop(pool) -> None:
    pool.shutdown(wait=False, cancel_futures=True)
    _terminate_workers(pool)
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.join(10)
        if process.is_alive():
            process.kill()
            process.join()
    pool.shutdown(wait=True)   # the pool's manager thread and queues (their semaphores) go with it
