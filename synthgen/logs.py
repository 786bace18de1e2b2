"""What synthgen says while it works goes through the standard ``logging`` module, logger
``synthgen``: a stage's message at INFO, its details and timings at DEBUG. A Python user
configures logging as usual (the library adds no handler of its own); the CLI adds one that
writes to standard error, and every command takes ``-q`` (errors only) and ``-v`` (the
debug lines too)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

import click

LOGGER = logging.getLogger("synthgen")
_PREFIX = {logging.DEBUG: "debug: ", logging.INFO: "· ", logging.WARNING: "note: "}
_META = "synthgen.verbosity"


def say(message: str) -> None:
    """A stage's message (INFO): what the work is doing now."""
    LOGGER.info("%s", message)


def shows_info() -> bool:
    """Whether messages are shown (not under -q)."""
    return LOGGER.isEnabledFor(logging.INFO)


class _Stderr(logging.Handler):
    """One line per record on the standard error of the moment (a test runner swaps it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            prefix = _PREFIX.get(record.levelno, "error: ")
            print(prefix + record.getMessage(), file=sys.stderr, flush=True)
        except Exception:  # noqa: BLE001 - logging's own contract: report, never raise
            self.handleError(record)


def _install(ctx: click.Context) -> dict[str, Any]:
    """The CLI's handler on the ``synthgen`` logger, once per command line; removed (and
    the logger's level put back) when the command ends."""
    root = ctx.find_root()
    state = root.meta.get(_META)
    if state is None:
        handler = _Stderr()
        before = (LOGGER.level, LOGGER.propagate)
        LOGGER.addHandler(handler)
        LOGGER.setLevel(logging.INFO)
        LOGGER.propagate = False
        state = root.meta[_META] = {"quiet": False, "verbose": False}

        def undo() -> None:
            LOGGER.removeHandler(handler)
            LOGGER.setLevel(before[0])
            LOGGER.propagate = before[1]

        root.call_on_close(undo)
    return state


def _option(which: str) -> Callable[[click.Context, click.Parameter, bool], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        state = _install(ctx)
        if not value:
            return
        state[which] = True
        if state["quiet"] and state["verbose"]:
            raise click.UsageError("give -q (errors only) or -v (debug lines), not both")
        LOGGER.setLevel(logging.ERROR if which == "quiet" else logging.DEBUG)
        if which == "quiet":
            from synthgen import progress

            token = progress.set_quiet(True)
            ctx.find_root().call_on_close(lambda: progress.reset_quiet(token))

    return callback


def verbosity_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``-q`` / ``-v`` for a command (the group takes them too: ``synthgen -v run ...``)."""
    f = click.option(
        "-v",
        "--verbose",
        is_flag=True,
        expose_value=False,
        callback=_option("verbose"),
        help="also print debug lines: each stage's details and timings",
    )(f)
    return click.option(
        "-q",
        "--quiet",
        is_flag=True,
        expose_value=False,
        callback=_option("quiet"),
        help="print only errors (no messages, no progress, no summary)",
    )(f)
