"""Writes that never leave a half-written file or folder and never destroy what is not ours.

Everything is written to a temp path beside its target, then renamed into place. A folder
replaces an existing one only when that folder is recognisably synthgen's own: it holds the
manifest (``.synthgen``) synthgen wrote into it, listing everything in it, and nothing else
was added since. Temp names carry the writer's process id, so a later run can sweep the
leftovers of a killed one (and only those). ``Staging`` puts several files and folders in
place together, with SIGINT / SIGTERM held back for the few renames that commit them.

Permissions: what synthgen writes gets what ``open()`` / ``mkdir`` would give under the
user's umask (files 0666 & ~umask, folders 0777 & ~umask), like ``cp``. Some writers
(safetensors, mkstemp) create 0600, so modes are set just before the rename.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from synthgen.errors import DataError

MANIFEST = ".synthgen"
_TMP = re.compile(r"^\..+\.synthgen-(\d+)-[^.]+\.(tmp|old)$")


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


def _absolute(path: str | Path) -> Path:
    return Path(os.path.abspath(os.path.expanduser(str(path))))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(folder: Path) -> list[Path]:
    """Remove temp files and folders that a synthgen process which no longer runs left in
    ``folder`` (killed mid-write). Only names of our own pattern are touched."""
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for p in entries:
        m = _TMP.match(p.name)
        if m is None or int(m.group(1)) == os.getpid() or _alive(int(m.group(1))):
            continue
        with contextlib.suppress(OSError):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
            removed.append(p)
    return removed


def _temp_name(target: Path, kind: str = "tmp") -> str:
    return f".{target.name}.synthgen-{os.getpid()}-{os.urandom(4).hex()}.{kind}"


# ---- which folders we may replace ---------------------------------------------------------
def _manifest_entries(folder: Path) -> set[str] | None:
    try:
        body = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(body, dict) or body.get("written_by") != "synthgen":
        return None
    entries = body.get("entries")
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        return None
    return set(entries)


# folders written before the manifest existed: exactly these names, and their own marker file
_LEGACY = {
    "report.json": {"report.json", "report.html", "synthetic.csv", "synthetic.parquet", "model"},
    "config.json": {
        "config.json",
        "schema.json",
        "encoder.json",
        "weights.safetensors",
        "run.json",
        "text",
    },
}


def _legacy_ours(folder: Path, names: set[str]) -> bool:
    for marker, allowed in _LEGACY.items():
        if marker in names and names <= allowed:
            try:
                body = json.loads((folder / marker).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return False
            return isinstance(body, dict) and (
                "synthgen_version" in body or "format_version" in body
            )
    return False


def check_replaceable(path: str | Path, what: str = "output folder") -> None:
    """Raise a DataError unless ``path`` is absent, an empty folder, or a folder synthgen
    wrote and nobody has added to since. Called before any work, and again at the swap."""
    target = _absolute(path)
    cwd = Path.cwd().resolve()
    if target.exists() and (target.resolve() == cwd or target.resolve() in cwd.parents):
        raise DataError(
            f"{what} {path} is the folder you are working in (or holds it); synthgen will "
            "not replace it",
            hint="give a new folder, e.g. --out runs/my-run",
        )
    if not target.exists() and not target.is_symlink():
        return
    if not target.is_dir() or target.is_symlink():
        raise DataError(
            f"{what} {path} exists and is not a folder synthgen wrote; it will not be replaced",
            hint="give a new folder name (a run writes a folder, not a file)",
        )
    names = {p.name for p in target.iterdir()}
    if not names:
        return
    listed = _manifest_entries(target)
    ours = (listed is not None and names - {MANIFEST} <= listed) or (
        listed is None and _legacy_ours(target, names)
    )
    if not ours:
        foreign = sorted(names - (listed or set()) - {MANIFEST})
        shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
        raise DataError(
            f"{what} {path} holds files synthgen did not write ({shown}); replacing it would "
            "delete them",
            hint="give a new or empty folder, or move those files out first",
        )


def write_manifest(folder: Path) -> None:
    """List what ``folder`` holds, so a later run knows it may replace it."""
    entries = sorted(p.name for p in folder.iterdir() if p.name != MANIFEST)
    from synthgen import __version__

    body = {"written_by": "synthgen", "version": __version__, "entries": entries}
    (folder / MANIFEST).write_text(json.dumps(body, indent=2), encoding="utf-8")


# ---- single writes ------------------------------------------------------------------------
@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temp file path next to ``path``; on success it replaces ``path`` in one step."""
    target = _absolute(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        sweep(target.parent)
        tmp = target.with_name(_temp_name(target))
        tmp.touch(exist_ok=False)
    except OSError as err:
        raise _unwritable(Path(path), err) from None
    try:
        yield tmp
        apply_modes(tmp)
        with deferred_signals():
            os.replace(tmp, target)
    except OSError as err:
        raise _unwritable(Path(path), err) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def write_text(path: str | Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


@contextlib.contextmanager
def atomic_dir(path: str | Path, what: str = "output folder") -> Iterator[Path]:
    """Yield a temp folder next to ``path``; on success it takes ``path``'s place whole.
    An existing ``path`` is replaced only when it is synthgen's own (``check_replaceable``)."""
    with Staging() as stage:
        yield stage.folder(path, what)


# ---- several writes committed together ----------------------------------------------------
class Staging:
    """Files and folders written to temp places, then put in place together on success
    (in the order staged); on any error or interruption every temp is removed and nothing
    that was there before changes."""

    def __init__(self) -> None:
        self._items: list[tuple[Path, Path, bool, str]] = []  # (tmp, target, is_dir, what)

    def folder(self, path: str | Path, what: str = "output folder") -> Path:
        target = _absolute(path)
        check_replaceable(target, what)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            sweep(target.parent)
            tmp = target.with_name(_temp_name(target))
            tmp.mkdir()
        except OSError as err:
            raise _unwritable(Path(path), err) from None
        self._items.append((tmp, target, True, what))
        return tmp

    def file(self, path: str | Path) -> Path:
        target = _absolute(path)
        if target.is_dir():
            raise DataError(f"output {path} is a folder; give a file name", hint="e.g. out/x.csv")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            sweep(target.parent)
            tmp = target.with_name(_temp_name(target))
            tmp.touch(exist_ok=False)
        except OSError as err:
            raise _unwritable(Path(path), err) from None
        self._items.append((tmp, target, False, "output"))
        return tmp

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                self.commit()
        finally:
            self.discard()

    def commit(self) -> None:
        for tmp, target, is_dir, what in self._items:
            if is_dir:
                write_manifest(tmp)
                check_replaceable(target, what)  # nothing was added while we worked
            apply_modes(tmp)
        with deferred_signals():
            for tmp, target, is_dir, _ in self._items:
                try:
                    _put(tmp, target, is_dir)
                except OSError as err:
                    raise _unwritable(target, err) from None

    def discard(self) -> None:
        for tmp, _, is_dir, _ in self._items:
            with contextlib.suppress(OSError):
                if is_dir:
                    shutil.rmtree(tmp)
                elif tmp.exists():
                    tmp.unlink()
        self._items.clear()


def _put(tmp: Path, target: Path, is_dir: bool) -> None:
    if not is_dir or not target.exists():
        os.replace(tmp, target)
        return
    old = target.with_name(_temp_name(target, "old"))
    os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


# ---- signals --------------------------------------------------------------------------------
_HELD = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block ends (a few renames), so an interruption
    lands before or after a commit, never inside it. Only the main thread receives them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def on_signal(handler: Callable[[int], None]) -> Callable[[], None]:
    """Install ``handler(signum)`` for SIGINT and SIGTERM (main thread only); returns a
    function that restores the previous handlers."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {s: signal.getsignal(s) for s in _HELD}
    for s in _HELD:
        signal.signal(s, lambda signum, _frame: handler(signum))

    def restore() -> None:
        for s, h in previous.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)

    return restore


# ---- one writer per destination -------------------------------------------------------------
@contextlib.contextmanager
def exclusive(paths: list[Path]) -> Iterator[None]:
    """Hold a lock on each destination while the block runs: a second synthgen process that
    wants to write one of them fails at once (exit 2) instead of racing this one. The locks
    live in the temp folder, not beside the user's files, and go when the process ends."""
    import fcntl
    import hashlib

    folder = Path(tempfile.gettempdir()) / f"synthgen-locks-{os.getuid()}"
    held: list[int] = []
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        for p in dict.fromkeys(_absolute(x) for x in paths):
            name = hashlib.sha256(str(p).encode()).hexdigest()[:32] + ".lock"
            fd = os.open(folder / name, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                os.close(fd)
                raise DataError(
                    f"another synthgen process (pid {holder}) is writing {p} right now",
                    hint="wait for it to finish, or write somewhere else (--out / outputs)",
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            held.append(fd)
        yield
    finally:
        for fd in held:
            os.close(fd)  # closing releases the lock
