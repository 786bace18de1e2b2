"""What every text backend implements (minimal copy; the full module adds the prompt
serialiser and the registry)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class TextBackend(Protocol):
    name: str

    def fit(self, texts: list[str], prompts: list[str], *, seed: int) -> None: ...

    def generate(self, prompts: list[str], *, seed: int) -> list[str]:
        """One text per prompt, in the same order."""
        ...

    def save(self, folder: Path) -> None:
        """Write config.json (never secrets, never a pretrained model's weights)."""
        ...

    def describe(self) -> dict[str, Any]:
        """JSON-able summary for the report."""
        ...
