"""One exception root with an exit code; the CLI maps each to a message and a status.

Exit codes: 0 ok, 1 internal error (a bug: report it), 2 bad recipe / data / usage,
3 a validation gate failed.
"""

from __future__ import annotations


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


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived: the CLI exits 128 + the signal's number (130, 143).

    A KeyboardInterrupt, not a SynthgenError, so no ``except Exception`` can swallow it;
    everything being written is discarded on the way out (see ``synthgen.io.atomic``)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.exit_code = 128 + signum
