"""One registry style for everything pluggable (generators, text backends): a name maps to
``"module:attr"``, imported on first use, plus plugins other packages declare under an entry
point group. An unknown name is an error with the nearest known one; a missing optional
package is an error naming the extra that installs it."""

from __future__ import annotations

import difflib
import importlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from synthgen.errors import MissingExtraError, SynthgenError, UsageError


@dataclass(frozen=True)
class Entry:
    name: str
    target: str  # "module:attr"
    summary: str = ""
    extra: str | None = None  # the optional extra it needs, if any
    needs: str | None = None  # the importable package that extra provides


class Registry:
    def __init__(
        self,
        what: str,
        group: str,
        builtin: Mapping[str, Entry],
        error: type[SynthgenError] = UsageError,
    ) -> None:
        self.what, self.group, self.error = what, group, error
        self.builtin = builtin  # a live mapping: tests may add to it

    def entries(self) -> dict[str, Entry]:
        """The built-in entries plus plugins from the entry-point group (built-ins win)."""
        found = dict(self.builtin)
        for ep in metadata.entry_points(group=self.group):
            found.setdefault(ep.name, Entry(ep.name, ep.value, f"plugin from {ep.value}"))
        return found

    def names(self) -> list[str]:
        return sorted(self.entries())

    def entry(self, name: str) -> Entry:
        known = self.entries()
        if name not in known:
            near = difflib.get_close_matches(name, list(known), n=1, cutoff=0.5)
            hint = f"did you mean '{near[0]}'? " if near else ""
            raise self.error(
                f"unknown {self.what} '{name}'; {hint}known: {', '.join(sorted(known))}"
            )
        return known[name]

    def load(self, name: str) -> Any:
        """The object registered under ``name``, imported now."""
        e = self.entry(name)
        module_name, _, attr = e.target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            if e.extra is not None and e.needs is not None:
                missing = (err.name or "").split(".")[0] == e.needs or not is_installed(e)
                if missing:
                    raise MissingExtraError(f"the '{name}' {self.what}", e.extra, e.needs) from None
            raise UsageError(f"the '{name}' {self.what} cannot be imported: {err}") from None
        return getattr(module, attr)


def is_installed(entry: Entry) -> bool:
    """Whether the optional package an entry needs can be imported (without importing it)."""
    if entry.needs is None:
        return True
    return importlib.util.find_spec(entry.needs) is not None


def require(package: str, extra: str, what: str) -> None:
    """A MissingExtraError naming ``extra`` when ``package`` cannot be imported."""
    if importlib.util.find_spec(package) is None:
        raise MissingExtraError(what, extra, package)
