"""A text backend for tests: its first answers copy training texts, later ones are fresh."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class CopyThenFreshBackend:
    name = "fake"

    def __init__(self, copies: int = 1) -> None:
        self.copies = copies  # how many generate calls return training texts

    def fit(self, texts: list[str], prompts: list[str], *, seed: int) -> None:
        self.texts_ = list(texts)
        self.calls_: list[tuple[list[str], int]] = []
        self.attempts_: list[int] = []

    def generate(self, prompts: list[str], *, seed: int, attempt: int = 0) -> list[str]:
        self.calls_.append((list(prompts), seed))
        self.attempts_.append(attempt)
        if len(self.calls_) <= self.copies:
            return [self.texts_[i % len(self.texts_)] for i in range(len(prompts))]
        return [f"fresh words {i} seed {seed} for {p.strip()}" for i, p in enumerate(prompts)]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        state = {"backend": self.name, "copies": self.copies, "texts": self.texts_}
        (folder / "config.json").write_text(json.dumps(state), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> CopyThenFreshBackend:
        state = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        self = cls(state["copies"])
        self.texts_, self.calls_, self.attempts_ = state["texts"], [], []
        return self

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "calls": len(self.calls_)}
