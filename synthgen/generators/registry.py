"""An explicit, lazy registry: name -> "module:Class", plus plugins from entry points.

Nothing is imported until a generator is asked for, so an optional engine whose extra is not
installed costs nothing until it is used, and then fails with a message naming the extra.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING

from synthgen.errors import RecipeError

if TYPE_CHECKING:
    from synthgen.generators.base import Generator

ENTRY_POINT_GROUP = "synthgen.generators"


@dataclass(frozen=True)
class Entry:
    name: str
    target: str  # "module:Class"
    summary: str
    extra: str | None = None  # the optional extra it needs, if any
    needs: str | None = None  # the importable package that extra provides


_BUILTIN: dict[str, Entry] = {
    e.name: e
    for e in [
        Entry(
            "autoreg",
            "synthgen.generators.autoreg:AutoregGenerator",
            "autoregressive network over discretised columns (the default)",
        ),
        Entry(
            "copula",
            "synthgen.generators.copula:CopulaGenerator",
            "Gaussian copula on empirical marginals (fastest)",
        ),
        Entry(
            "ctgan",
            "synthgen.generators.ctgan:CTGANGenerator",
            "conditional tabular GAN (CTGAN-style), ours, in torch",
        ),
        Entry(
            "tvae",
            "synthgen.generators.tvae:TVAEGenerator",
            "tabular variational autoencoder (TVAE-style), ours, in torch",
        ),
        Entry(
            "sdv.gaussian_copula",
            "synthgen.generators.sdv_engines:SDVGaussianCopula",
            "SDV's GaussianCopulaSynthesizer (baseline)",
            "sdv",
            "sdv",
        ),
        Entry(
            "sdv.ctgan",
            "synthgen.generators.sdv_engines:SDVCTGAN",
            "SDV's CTGANSynthesizer (baseline)",
            "sdv",
            "sdv",
        ),
        Entry(
            "sdv.tvae",
            "synthgen.generators.sdv_engines:SDVTVAE",
            "SDV's TVAESynthesizer (baseline)",
            "sdv",
            "sdv",
        ),
    ]
}


def entries() -> dict[str, Entry]:
    """Built-in generators plus those other packages register under the entry-point group."""
    found = dict(_BUILTIN)
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, Entry(ep.name, ep.value, f"plugin from {ep.value}"))
    return found


def names() -> list[str]:
    return sorted(entries())


def get_class(name: str) -> type[Generator]:
    """The generator class for ``name``; a clear RecipeError when the name is unknown."""
    known = entries()
    if name not in known:
        near = difflib.get_close_matches(name, list(known), n=1, cutoff=0.5)
        hint = f"did you mean '{near[0]}'? " if near else ""
        raise RecipeError(f"unknown generator '{name}'; {hint}known: {', '.join(sorted(known))}")
    module_name, _, attr = known[name].target.partition(":")
    module = importlib.import_module(module_name)
    cls: type[Generator] = getattr(module, attr)
    return cls


def is_installed(entry: Entry) -> bool:
    if entry.needs is None:
        return True
    return importlib.util.find_spec(entry.needs) is not None
