"""synthgen: turn a sensitive table into a synthetic one that is useful and safe to share."""

__version__ = "0.1.0"

from synthgen.errors import (  # noqa: E402
    DataError,
    GateFailed,
    GateInconclusive,
    NotFittedError,
    RecipeError,
    SchemaError,
    SynthgenError,
)

__all__ = [
    "DataError",
    "GateFailed",
    "GateInconclusive",
    "NotFittedError",
    "RecipeError",
    "SchemaError",
    "SynthgenError",
    "__version__",
]
