"""Ctrl-C and SIGTERM become an ``Interrupted`` exception, raised where Python is running
and remembered, so that one raised inside a callback that swallows exceptions (a finaliser,
a library's cleanup) is raised again at the next stage boundary (``check``)."""

from __future__ import annotations

from collections.abc import Callable

from synthgen.errors import Interrupted

_pending: int | None = None


def install() -> Callable[[], None]:
    """The CLI's handlers for SIGINT and SIGTERM; forgets an earlier interruption. Returns
    a function that puts the previous handlers back (a command run inside another program,
    such as a test runner, leaves its signals as it found them)."""
    from synthgen.io.atomic import on_signal

    global _pending
    _pending = None
    return on_signal(_raise)


def _raise(signum: int) -> None:
    global _pending
    _pending = signum
    raise Interrupted(signum)


def check() -> None:
    """Raise ``Interrupted`` if a signal arrived and its first raise was swallowed."""
    if _pending is not None:
        raise Interrupted(_pending)
