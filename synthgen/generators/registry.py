"""The generators: name -> "module:Class", plus plugins from entry points (synthgen.registry).

Nothing is imported until a generator is asked for, so an optional engine whose extra is not
installed costs nothing until it is used, and then fails with a message naming the extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from synthgen.errors import RecipeError
from synthgen.registry import Entry, Registry, is_installed

if TYPE_CHECKING:
    from synthgen.generators.base import Generator

ENTRY_POINT_GROUP = "synthgen.generators"
__all__ = ["GENERATORS", "Entry", "entries", "get_class", "is_installed", "names"]


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


GENERATORS = Registry("generator", ENTRY_POINT_GROUP, _BUILTIN, RecipeError)


def entries() -> dict[str, Entry]:
    """Built-in generators plus those other packages register under the entry-point group."""
    return GENERATORS.entries()


def names() -> list[str]:
    return GENERATORS.names()


def get_class(name: str) -> type[Generator]:
    """The generator class for ``name``; a clear RecipeError when the name is unknown."""
    cls: type[Generator] = GENERATORS.load(name)
    return cls
