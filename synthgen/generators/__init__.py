"""Generators: a base class that does the common work, and a lazy registry of them."""

from synthgen.generators.base import Generator
from synthgen.generators.registry import get_class, names


def create(name: str, **params: object) -> Generator:
    """A new, unfitted generator by its registered name."""
    return get_class(name)(**params)


__all__ = ["Generator", "create", "get_class", "names"]
