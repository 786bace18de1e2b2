"""What the language-model backends share: the request text, the few-shot pool, config files.

Few-shot examples come only from the backend's OWN earlier synthetic outputs, never from the
real texts: a real text placed in a prompt could be copied into the output, or sent to a
remote server. The pool lives in memory and is never written to disk.
"""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from synthgen.errors import UsageError

CONFIG_FORMAT = 1
DEFAULT_INSTRUCTION = (
    "Write one realistic {column}. Details:\n{prompt}\nReply with the {column} only, no title."
)


def check_instruction(template: str) -> str:
    if "{prompt}" not in template:
        raise ValueError("the instruction must contain '{prompt}' (where the row's fields go)")
    return template


def render_instruction(template: str, column: str, prompt: str) -> str:
    """The template with ``{column}`` and ``{prompt}`` filled in; other braces stay as they are
    (no ``str.format``, so a template may hold JSON)."""
    return template.replace("{column}", column).replace("{prompt}", prompt.rstrip("\n"))


def request_seed(seed: int, index: int) -> int:
    """A distinct, reproducible seed per request: two rows with the same fields still get
    different texts, and a rerun with the same seed gets the same ones."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0] & 0x7FFFFFFF)


class FewShotPool:
    """The last outputs this backend generated, as (prompt, text) pairs."""

    def __init__(self, k: int) -> None:
        self.k = k
        self._items: deque[tuple[str, str]] = deque(maxlen=max(8 * k, 64))

    def __len__(self) -> int:
        return len(self._items)

    def add(self, prompts: list[str], texts: list[str]) -> None:
        if self.k:
            self._items.extend((p, t) for p, t in zip(prompts, texts, strict=True) if t.strip())

    def snapshot(self) -> list[tuple[str, str]]:
        return list(self._items)

    def draw(self, snapshot: list[tuple[str, str]], seed: int, index: int) -> list[tuple[str, str]]:
        """Up to ``k`` distinct examples for request ``index``, chosen reproducibly."""
        n = min(self.k, len(snapshot))
        if n == 0:
            return []
        rng = np.random.default_rng([seed, index, 1])
        return [snapshot[i] for i in sorted(rng.choice(len(snapshot), n, replace=False))]


def write_config(folder: Path, backend: str, params: dict[str, Any], state: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    body = {"backend": backend, "format_version": CONFIG_FORMAT, "params": params, "state": state}
    (folder / "config.json").write_text(json.dumps(body, indent=2), encoding="utf-8")


def read_config(folder: Path, backend: str) -> dict[str, Any]:
    path = Path(folder) / "config.json"
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"no text backend saved in {folder} (config.json is missing)") from None
    except json.JSONDecodeError as err:
        raise UsageError(f"{path}: not valid JSON: {err}") from None
    if body.get("backend") != backend:
        raise UsageError(f"{path} holds a '{body.get('backend')}' backend, not '{backend}'")
    if body.get("format_version") != CONFIG_FORMAT:
        raise UsageError(f"{path}: format {body.get('format_version')} is not {CONFIG_FORMAT}")
    return body  # type: ignore[no-any-return]
