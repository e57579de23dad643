"""The threads that run requests: the handlers are synchronous (database calls), the server is asyncio.

Each request is handed to a thread and its answer handed back to the event loop. This is what
`anyio.to_thread.run_sync` did, at a fraction of the cost: anyio's hand-off (a `queue.Queue`, whose
`Condition` is Python code, a capacity limiter, cancel scopes, a worker-thread lookup per call) took
about a third of a group show's CPU in the API process. Here a hand-off is one C `SimpleQueue.put`
and one `call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_Job = tuple[contextvars.Context, Callable[..., Any], tuple[Any, ...], asyncio.AbstractEventLoop,
             "asyncio.Future[Any]"]


class HandlerThreads:
    """At most `limit` threads, started as requests need them and kept; requests beyond wait in line."""

    def __init__(self, limit: int = 64, name: str = "lockstep-request") -> None:
        self.limit = limit
        self.name = name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._idle = 0

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a thread, with the caller's context variables; its result or its exception."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._ensure_thread()
        self._jobs.put((contextvars.copy_context(), fn, args, loop, future))
        return await future

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._idle > 0 or len(self._threads) >= self.limit:
                self._idle -= 1 if self._idle > 0 else 0
                return
            thread = threading.Thread(target=self._serve, name=f"{self.name}-{len(self._threads)}", daemon=True)
            self._threads.append(thread)
        thread.start()

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            context, fn, args, loop, future = job
            try:
                result = context.run(fn, *args)
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting request
                outcome: tuple[Callable[..., None], Any] = (_set_exception, exc)
            else:
                outcome = (_set_result, result)
            del job, fn, args  # nothing of the request stays referenced while the thread waits
            with self._lock:
                self._idle += 1
            try:
                loop.call_soon_threadsafe(outcome[0], future, outcome[1])
            except RuntimeError:  # the loop closed (the server stopped) while the request ran
                pass

    def close(self) -> None:
        """Let every thread end once the requests already handed over are done."""
        with self._lock:
            threads, self._threads, self._idle = self._threads, [], 0
        for _ in threads:
            self._jobs.put(None)


def _set_result(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():  # the request was cancelled meanwhile (its client left)
        future.set_result(value)


def _set_exception(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
