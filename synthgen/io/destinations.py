"""Where a run may write, decided before any work: nothing a user did not ask to replace is
ever replaced, and a destination that cannot be written fails the run at once."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from synthgen.errors import DataError
from synthgen.io.atomic import check_replaceable
from synthgen.io.sources import infer_format


def _abs(p: str | Path) -> Path:
    return Path(os.path.abspath(os.path.expanduser(str(p))))


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def check_writable(paths: list[Path]) -> None:
    """Fail before any work when a place we must write to cannot be written."""
    for p in paths:
        probe = _abs(p)
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if (probe.exists() and not probe.is_dir() and probe != _abs(p)) or not os.access(
            probe if probe.is_dir() else probe.parent, os.W_OK
        ):
            raise DataError(
                f"cannot write to {p}: {probe} is not a writable folder",
                hint="choose an output path in a folder you can write to",
            )


def check_destinations(
    run_dir: Path,
    outputs: Sequence[tuple[Path, str | None]],
    *,
    protected: list[Path],
    protected_folders: list[Path] | None = None,
) -> None:
    """Every destination of a run, checked together: the run folder may replace only an
    earlier synthgen folder; an output may not be a source, the recipe, a file inside a
    source folder or inside the run folder; no two outputs share a path; every one can be
    written and has a known format. ``protected`` are files the run reads (never written),
    ``protected_folders`` folders whose contents it reads."""
    problems: list[str] = []
    protected_folders = list(protected_folders or [])
    run_abs = _abs(run_dir)
    try:
        check_replaceable(run_dir, "run folder")
    except DataError as err:
        problems.append(str(err))
    for p in list(protected) + protected_folders:
        if p is not None and _inside(_abs(p), run_abs):
            problems.append(
                f"run folder {run_dir} holds {p}, which this run reads; replacing the folder "
                "would delete it"
            )
    seen: dict[Path, str] = {}
    for i, (path, fmt) in enumerate(outputs):
        where, target = f"outputs.{i}", _abs(path)
        if any(p is not None and target == _abs(p) for p in protected):
            problems.append(f"{where}: {path} is what this run reads; it is never overwritten")
        elif any(_inside(target, _abs(f)) for f in protected_folders):
            problems.append(f"{where}: {path} is inside a source folder this run reads")
        elif _inside(target, run_abs):
            problems.append(f"{where}: {path} is inside the run folder {run_dir}")
        elif target in seen:
            problems.append(f"{where}: {path} is also {seen[target]}")
        elif target.is_dir():
            problems.append(f"{where}: {path} is a folder; give a file name")
        seen[target] = where
        try:
            infer_format(target, fmt, "output")
        except DataError as err:
            problems.append(f"{where}: {err.message}")
    if problems:
        raise DataError(
            "nothing was done: the run would write where it must not:\n  - "
            + "\n  - ".join(problems),
            hint="choose other destinations (--out, outputs:)",
        )
    check_writable([run_dir] + [p for p, _ in outputs])
