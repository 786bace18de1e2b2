"""synthgen: turn sensitive data into synthetic data that is useful and safe to share.

The verbs (the same functions the CLI calls)::

    import synthgen
    result = synthgen.run("recipes/adult.yaml")           # read, fit, sample, validate, write
    result = synthgen.synthesize(df, generator="copula")  # the same stages on a DataFrame
    model = synthgen.load("runs/adult/model")             # JSON + safetensors, runs no code
    rows = synthgen.sample("runs/adult/model", 1000)      # the rows `synthgen sample` writes
    verdict = synthgen.evaluate(real_df, synthetic_df, holdout=holdout_df)
    found = synthgen.inspect("data/shop/")                # a file, a folder or a database URL
    synthgen.validate_files("real.csv", "synthetic.csv", out="validation")  # `synthgen validate`
    synthgen.fit_streamed(synthgen.load_recipe("big.yaml"), "model")  # `synthgen fit`

Importing ``synthgen`` is cheap: each verb imports what it needs when called.
"""

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from synthgen.errors import (  # noqa: E402
    DataError,
    GateFailed,
    GateInconclusive,
    NotFittedError,
    RecipeError,
    SchemaError,
    SynthgenError,
    UsageError,
)

if TYPE_CHECKING:
    from synthgen.api import create, inspect, load, load_recipe, run, sample, synthesize
    from synthgen.evaluation import evaluate, validate_files
    from synthgen.fit_stream import fit_streamed

_LAZY = {
    "run": ("synthgen.api", "run"),
    "synthesize": ("synthgen.api", "synthesize"),
    "sample": ("synthgen.api", "sample"),
    "load_recipe": ("synthgen.api", "load_recipe"),
    "create": ("synthgen.api", "create"),
    "load": ("synthgen.api", "load"),
    "inspect": ("synthgen.api", "inspect"),
    "evaluate": ("synthgen.evaluation", "evaluate"),
    "validate_files": ("synthgen.evaluation", "validate_files"),
    "fit_streamed": ("synthgen.fit_stream", "fit_streamed"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'synthgen' has no attribute {name!r}")


__all__ = [
    "DataError",
    "GateFailed",
    "GateInconclusive",
    "NotFittedError",
    "RecipeError",
    "SchemaError",
    "SynthgenError",
    "UsageError",
    "__version__",
    "create",
    "evaluate",
    "fit_streamed",
    "inspect",
    "load",
    "load_recipe",
    "run",
    "sample",
    "synthesize",
    "validate_files",
]
