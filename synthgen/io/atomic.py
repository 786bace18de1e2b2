"""Writes that never leave a half-written file or folder: write to a temp path, then rename.

Permissions: what synthgen writes gets what ``open()`` / ``mkdir`` would give under the
user's umask (files 0666 & ~umask, folders 0777 & ~umask), like ``cp``. ``mkstemp`` and
``mkdtemp`` create 0600 / 0700 and some writers (safetensors) do too, so the mode is set
after the fact."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from synthgen.errors import DataError


def _unwritable(path: Path, err: OSError) -> DataError:
    return DataError(
        f"cannot write {path}: {err.strerror or err}",
        hint="choose a folder you can write to (check it exists and its permissions)",
    )


def _umask() -> int:
    """The process umask; read from /proc where Linux has it (setting it is process-wide)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def file_mode() -> int:
    return 0o666 & ~_umask()


def apply_modes(path: Path) -> None:
    """Give ``path`` (a file, or a folder and all it holds) the umask's default modes.
    Symbolic links are left alone (chmod would change what they point at)."""
    umask = _umask()
    if not path.is_dir():
        os.chmod(path, 0o666 & ~umask)
        return
    os.chmod(path, 0o777 & ~umask)
    for root, dirs, files in os.walk(path):
        for name, mode in [(d, 0o777) for d in dirs] + [(f, 0o666) for f in files]:
            p = os.path.join(root, name)
            if not os.path.islink(p):
                os.chmod(p, mode & ~umask)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temp file path next to ``path``; on success it replaces ``path`` in one step."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
    except OSError as err:
        raise _unwritable(target, err) from None
    tmp = Path(tmp_name)
    try:
        yield tmp
        apply_modes(tmp)
        os.replace(tmp, target)
    except OSError as err:
        raise _unwritable(target, err) from None
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path: str | Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temp folder next to ``path``; on success it takes ``path``'s place whole."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    except OSError as err:
        raise _unwritable(target, err) from None
    try:
        yield tmp
        apply_modes(tmp)
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as err:
        raise _unwritable(target, err) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
