"""Progress of long work. A stage (``StageClock``) says what it does, is timed for the report
and is a point where Ctrl-C stops the run cleanly. Within a long stage: a rich bar on a terminal; elsewhere (a log file, CI, a pipe) a
plain line every few seconds with what is done, the time elapsed and an estimate of the rest.

    with Progress("training ctgan", total=300, unit="epoch") as p:
        for epoch in range(300):
            ...
            p.update(epoch + 1)

prints, when stderr is not a terminal, lines such as

    training ctgan: epoch 12 of 300, 1m04s elapsed, about 25m36s left
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO, Any

from synthgen import interrupt

PLAIN_EVERY_S = 10.0  # seconds between plain lines (SYNTHGEN_PROGRESS_EVERY overrides)
_QUIET: ContextVar[bool] = ContextVar("synthgen_quiet", default=False)


@contextmanager
def quiet(on: bool = True) -> Iterator[None]:
    """No progress at all inside (the CLI's --quiet)."""
    token = _QUIET.set(on)
    try:
        yield
    finally:
        _QUIET.reset(token)


def set_quiet(on: bool) -> Any:
    """Progress off (on=True) until :func:`reset_quiet` with the returned token (the
    CLI's -q, for the whole command)."""
    return _QUIET.set(on)


def reset_quiet(token: Any) -> None:
    _QUIET.reset(token)


def duration(seconds: float) -> str:
    """4s, 1m04s, 2h05m."""
    s = int(round(max(seconds, 0.0)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def _every() -> float:
    try:
        return max(0.0, float(os.environ.get("SYNTHGEN_PROGRESS_EVERY", PLAIN_EVERY_S)))
    except ValueError:
        return PLAIN_EVERY_S


class Progress:
    """``update(done)`` as work advances; ``total`` None when unknown (a time budget).
    ``enabled`` False (or inside :func:`quiet`) prints nothing. ``stream`` (default stderr)
    decides terminal or not."""

    def __init__(
        self,
        what: str,
        total: int | None,
        unit: str = "step",
        *,
        enabled: bool = True,
        stream: IO[str] | None = None,
        every: float | None = None,
    ) -> None:
        self.what, self.total, self.unit = what, total, unit
        self.enabled = enabled and not _QUIET.get()
        self.stream = stream if stream is not None else sys.stderr
        self.every = _every() if every is None else every
        self.start = time.perf_counter()
        self.last_line = self.start
        self.done = 0
        self.bar: Any = None
        self.task: Any = None

    @property
    def terminal(self) -> bool:
        return bool(getattr(self.stream, "isatty", lambda: False)())

    def __enter__(self) -> Progress:
        self.start = self.last_line = time.perf_counter()
        if self.enabled and self.terminal:
            from rich.console import Console
            from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as Bar

            self.bar = Bar(
                TextColumn(self.what),
                BarColumn(),
                TextColumn(f"{self.unit} {{task.completed}}"),
                TimeElapsedColumn(),
                console=Console(file=self.stream),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(self.what, total=self.total)
        return self

    def update(self, done: int, total: int | None = None) -> None:
        self.done = done
        if total is not None:
            self.total = total
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(self.task, completed=done, total=self.total)
            return
        now = time.perf_counter()
        if now - self.last_line >= self.every:
            self.last_line = now
            print(self.line(now - self.start), file=self.stream, flush=True)

    def line(self, elapsed: float) -> str:
        """The plain line: what, how far, elapsed, and the rest at the pace so far."""
        of = f" of {self.total:,}" if self.total else ""
        text = f"{self.what}: {self.unit} {self.done:,}{of}, {duration(elapsed)} elapsed"
        if self.total and 0 < self.done < self.total:
            rest = elapsed / self.done * (self.total - self.done)
            text += f", about {duration(rest)} left"
        return text

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


class StageClock:
    """``with clock.stage(name, message):`` says ``message``, times the block under ``name``."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.timings: dict[str, float] = {}
        self.say = say

    @contextmanager
    def stage(self, name: str, message: str) -> Iterator[None]:
        interrupt.check()
        self.say(message)
        t0 = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - t0, 4)
        from synthgen.logs import LOGGER

        LOGGER.debug("stage %s done in %.2f s", name, self.timings[name])
        interrupt.check()


def chunk_progress(chunks: range, n: int, chunk_size: int, show: bool) -> Iterator[int]:
    """``chunks`` (the first row of each), with a sampling bar over ``n`` rows when ``show``
    and there is more than one chunk."""
    if not show or n <= chunk_size:
        yield from chunks
        return
    with Progress("sampling", n, unit="row") as bar:
        for start in chunks:
            yield start
            bar.update(min(n, start + chunk_size))


@contextmanager
def step_callback(
    label: str, enabled: bool, unit: str = "step"
) -> Iterator[Callable[[int, int | None], None] | None]:
    """A ``(done, total)`` callback drawing a bar for ``label`` when ``enabled``, else None
    (for training loops that take an optional progress callback)."""
    if not enabled:
        yield None
        return
    with Progress(label, None, unit=unit) as bar:
        yield bar.update
