"""The autoregressive generator over discretised columns (``autoreg``, the default)."""

from synthgen.generators.autoreg.generator import AutoregGenerator, AutoregParams

__all__ = ["AutoregGenerator", "AutoregParams"]
