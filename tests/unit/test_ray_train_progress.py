"""The driver's view of a Ray training (no cluster needed): the epochs rank 0 reports move
a progress bar and give a debug line each, a second pass continuing the count; a quiet
command shows nothing; a worker's synthgen error is raised as itself."""

from __future__ import annotations

import io
import logging
import queue
from typing import Any

import pytest

from synthgen import progress
from synthgen.errors import DataError
from synthgen.scale.ray_train import _following, _worker_error


class _Reports:
    """Stands in for the Ray queue: the entries, then empty."""

    def __init__(self, entries: list[tuple[dict[str, Any], int]]) -> None:
        self.entries = list(entries)

    def get(self, timeout: float) -> Any:
        if self.entries:
            return self.entries.pop(0)
        raise queue.Empty


ENTRIES = [
    ({"pass": 1, "epoch": 1, "loss": 2.5, "validation_loss": 2.75}, 3),
    ({"pass": 1, "epoch": 2, "loss": 2.0, "validation_loss": 2.5}, 3),
    ({"pass": 2, "epoch": 1, "loss": 2.25, "validation_loss": 2.5}, 1),
]


def test_the_epochs_move_the_bar_and_log_the_losses(monkeypatch, caplog):
    monkeypatch.setenv("SYNTHGEN_PROGRESS_EVERY", "0")
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    with caplog.at_level(logging.DEBUG, logger="synthgen"), _following(_Reports(ENTRIES), "t"):
        pass
    lines = err.getvalue().splitlines()
    # the second pass's epoch continues the count (its total: the epochs so far + its own)
    assert [x.split(",")[0] for x in lines] == [
        "t: epoch 1 of 3",
        "t: epoch 2 of 3",
        "t: epoch 3 of 3",
    ]
    debug = [r.getMessage() for r in caplog.records]
    assert "epoch 1 (pass 1): loss 2.5000, validation loss 2.7500" in debug
    assert "epoch 1 (pass 2): loss 2.2500, validation loss 2.5000" in debug


def test_a_quiet_command_shows_no_bar(monkeypatch):
    monkeypatch.setenv("SYNTHGEN_PROGRESS_EVERY", "0")
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    with progress.quiet(), _following(_Reports(ENTRIES), "t"):
        pass
    assert err.getvalue() == ""


def test_a_workers_synthgen_error_is_raised_as_itself():
    cause = DataError("column 'x' is broken", hint="fix it")

    class WorkerGroupError(Exception):
        def __init__(self) -> None:
            super().__init__("training failed")
            self.worker_failures = {1: RuntimeError("wrapped")}
            self.worker_failures[1].__cause__ = cause

    assert _worker_error(WorkerGroupError()) is cause
    other = RuntimeError("a bug")
    assert _worker_error(other) is other
    with pytest.raises(DataError):
        raise _worker_error(WorkerGroupError())
