"""Text columns: language-model backends, the leak guard, and per-column orchestration.

Importing this package loads no torch; the local backend is imported when first used.
"""

from synthgen.text.base import (
    BACKENDS,
    TextBackend,
    backend_class,
    load_backend,
    make_backend,
    serialise_prompt,
)
from synthgen.text.guard import LeakGuard, SharedIndex, longest_shared, normalise
from synthgen.text.synth import GuardSpec, TextColumnSpec, TextSynthesizer, conditioning_columns

__all__ = [
    "BACKENDS",
    "GuardSpec",
    "LeakGuard",
    "SharedIndex",
    "TextBackend",
    "TextColumnSpec",
    "TextSynthesizer",
    "backend_class",
    "conditioning_columns",
    "load_backend",
    "longest_shared",
    "make_backend",
    "normalise",
    "serialise_prompt",
]
