"""Stage timing and messages for long work: each stage says what it does, is timed for the
report, and is a point where Ctrl-C stops the run cleanly."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from synthgen import interrupt


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
        interrupt.check()
