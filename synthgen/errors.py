"""One exception root with an exit code; the CLI maps each to a message and a status.

Exit codes: 0 ok, 1 internal error (a bug: report it), 2 bad recipe / data / usage,
3 a validation gate failed, 4 no gate failed but one could not decide (inconclusive: the
sample is too small to tell; nothing is released, and no leak is reported).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import ValidationError


class SynthgenError(Exception):
    """Root of every error synthgen raises on purpose. ``exit_code`` is what the CLI returns."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  fix: {self.hint}"


class UsageError(SynthgenError):
    """Bad arguments to a command or a public function."""

    exit_code = 2


class RecipeError(UsageError):
    """The recipe file is missing, not YAML, or fails validation. ``problems`` lists them all."""

    def __init__(self, message: str, *, problems: list[str] | None = None, hint: str | None = None):
        self.problems = list(problems or [])
        if self.problems:
            message = message + "\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(message, hint=hint)


class DataError(UsageError):
    """The source data cannot be read or cannot be used as it is."""


class SchemaError(UsageError):
    """A schema (detected, given or overridden) does not fit the data."""


class PrivacyBudgetError(RecipeError):
    """A differential-privacy recipe would read data outside its budget."""


class NotFittedError(SynthgenError, ValueError, AttributeError):
    """A generator was asked to sample or save before ``fit``."""

    exit_code = 2


class MissingExtraError(UsageError):
    """An optional engine needs a package that is not installed."""

    def __init__(self, what: str, extra: str, package: str) -> None:
        super().__init__(
            f"{what} needs the optional package '{package}', which is not installed.",
            hint=f"pip install 'synthgen[{extra}]'",
        )


class GateFailed(SynthgenError):
    """At least one validation gate failed; the report was still written."""

    exit_code = 3


class GateInconclusive(SynthgenError):
    """No gate failed, but at least one could not decide on this sample; the report was
    written, the outputs were not (an inconclusive gate is not a pass)."""

    exit_code = 4


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived: the CLI exits 128 + the signal's number (130, 143).

    A KeyboardInterrupt, not a SynthgenError, so no ``except Exception`` can swallow it;
    everything being written is discarded on the way out (see ``synthgen.io.atomic``)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.exit_code = 128 + signum


# ---- messages from pydantic's validation errors ---------------------------------------------
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")


def mask_credentials(text: str) -> str:
    """``scheme://user:password@host`` -> ``scheme://***@host``, anywhere in ``text``."""
    return _URL_CREDENTIALS.sub(r"\1***@", text)


def pydantic_problems(
    err: ValidationError,
    prefix: str = "",
    suggest: Callable[[tuple[Any, ...]], str | None] | None = None,
) -> list[str]:
    """Every pydantic problem as 'dotted.path: message'; ``suggest`` may name the key an
    unknown one was meant to be. Messages never quote the input (it may hold a credential),
    and any URL credential a message holds is masked."""
    out = []
    for e in err.errors():
        loc = tuple(e["loc"])
        msg = e["msg"]
        if e["type"] == "extra_forbidden" and loc:
            msg = "unknown key"
            near = suggest(loc) if suggest is not None else None
            if near:
                msg += f"; did you mean '{near}'?"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        elif e["type"] in ("int_type", "float_type") and isinstance(e.get("input"), bool):
            msg += f" ({str(e['input']).lower()} is a yes/no value, not a number)"
        elif e["type"] in ("int_type", "float_type", "int_parsing") and _number_text(
            e.get("input")
        ):
            msg += (
                f" (YAML reads {e['input']} as text: write it with digits only, or as "
                f"{float(e['input']):.1e} with a dot and a sign)"
            )
        out.append(mask_credentials(f"{_format_loc(loc, prefix)}: {msg}"))
    return out


def _format_loc(loc: tuple[Any, ...], prefix: str = "") -> str:
    parts = [str(p) for p in loc if p not in ("function-after", "function-before")]
    text = ".".join(parts)
    return f"{prefix}.{text}" if prefix and text else (prefix or text or "(top level)")


def _number_text(value: Any) -> bool:
    """True for text such as '1e12' that a reader meant as a number (YAML 1.1 reads an
    exponent without a dot as a string)."""
    if not isinstance(value, str) or len(value) > 40:
        return False
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def labels_hint(value: Any, labels: list[Any], most: int = 20) -> str:
    """'did you mean 'Female'? valid: 'Female', 'Male'' (the closest spelling first)."""
    import difflib

    shown = [str(x) for x in labels]
    close = difflib.get_close_matches(str(value), shown, n=1, cutoff=0.6)
    folded = [x for x in shown if x.casefold() == str(value).casefold()]
    guess = (folded or close)[:1]
    head = f"did you mean {guess[0]!r}? " if guess else ""
    listed = ", ".join(repr(x) for x in sorted(shown)[:most])
    more = f" and {len(shown) - most} more" if len(shown) > most else ""
    return f"{head}valid values: {listed}{more}"
