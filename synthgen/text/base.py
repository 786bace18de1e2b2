"""What every text backend implements, how a row becomes a prompt, and the lazy registry.

A backend learns ``prompt -> text`` from pairs and writes one text per prompt. The prompt is
always :func:`serialise_prompt` of the row's conditioning fields, so every backend sees the
same string for the same row. Each backend class also offers ``load(folder)`` (a classmethod)
that reads what ``save`` wrote; :func:`load_backend` dispatches on ``config.json["backend"]``.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from synthgen.errors import UsageError
from synthgen.registry import Entry, Registry

BACKENDS: dict[str, Entry] = {
    e.name: e
    for e in [
        Entry(
            "local",
            "synthgen.text.local:LocalBackend",
            "a small GPT trained on the column",
            "text",
            "tokenizers",
        ),
        Entry(
            "hf",
            "synthgen.text.hf:HFBackend",
            "a pretrained Hugging Face causal LM (few-shot or LoRA)",
            "hf",
            "transformers",
        ),
        Entry("openai", "synthgen.text.openai:OpenAIBackend", "an OpenAI-compatible server"),
    ]
}
TEXT_BACKENDS = Registry("text backend", "synthgen.text_backends", BACKENDS)


# where a remote backend connects and with which key: chosen by whoever runs the command,
# never saved in (nor read from) a model folder
REMOTE_FIELDS = ("base_url", "api_key_env")


@dataclass(frozen=True)
class RemoteAccess:
    """The server (and key variable) a loaded remote text backend may use: named by the
    person running the command, never read from the model folder."""

    base_url: str
    api_key_env: str | None = None

    @classmethod
    def from_options(cls, endpoint: str | None, key_env: str | None) -> RemoteAccess | None:
        """From `sample --text-endpoint / --text-key-env`, checked (None: no server)."""
        if endpoint is None:
            if key_env is not None:
                raise UsageError("--text-key-env needs --text-endpoint (the server the key is for)")
            return None
        from pydantic import ValidationError

        from synthgen.text.openai import OpenAIParams

        try:
            OpenAIParams(base_url=endpoint, model="-", api_key_env=key_env)
        except ValidationError as err:  # its message only: the value may hold a password
            first = err.errors()[0]
            raise UsageError(f"--text-endpoint / --text-key-env: {first['msg']}") from None
        return cls(endpoint.rstrip("/"), key_env)


@runtime_checkable
class TextBackend(Protocol):
    name: str

    def fit(self, texts: list[str], prompts: list[str], *, seed: int) -> None: ...

    def generate(self, prompts: list[str], *, seed: int, attempt: int = 0) -> list[str]:
        """One text per prompt, in the same order. ``attempt`` counts the leak guard's
        retries for these prompts (0 = first draw); a backend may sample more freely on a
        retry (the local one lowers its guidance), or ignore it."""
        ...

    def save(self, folder: Path) -> None:
        """Write config.json (and the backend's weights / tokenizer) into ``folder``."""
        ...

    def describe(self) -> dict[str, Any]:
        """JSON-able summary for the report: parameters, training stats, privacy spend."""
        ...


def serialise_prompt(row: Mapping[str, Any], fields: Sequence[str]) -> str:
    """``"rating: 4 | condition: acne\\n"``: the fields in the given order, missing as empty.

    Numbers are written compactly (``4.0`` -> ``4``, four significant digits for floats) so a
    value reads the same whether it came from the source or from a sampled table.
    """
    return " | ".join(f"{f}: {_format_value(row.get(f))}" for f in fields) + "\n"


def _format_value(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        f = float(v)
        if math.isnan(f):
            return ""
        return str(int(f)) if f.is_integer() and abs(f) < 1e15 else f"{f:.4g}"
    if v is None or v is pd.NaT or v is pd.NA:
        return ""
    return " ".join(str(v).split())  # one line: a newline would blur the prompt's end


def backend_class(name: str) -> Any:
    """The class registered under ``name``, imported on first use."""
    return TEXT_BACKENDS.load(name)


def make_backend(name: str, params: Mapping[str, Any] | None = None) -> TextBackend:
    """A new, unfitted backend with ``params`` (each backend validates its own)."""
    backend: TextBackend = backend_class(name)(**dict(params or {}))
    return backend


def load_backend(folder: Path, remote: RemoteAccess | None = None) -> TextBackend:
    """Read ``folder/config.json`` and let the named backend load itself (no code is run).

    A backend that talks to a server (``remote = True`` on its class) connects only to
    ``remote``, given by the caller; without it, loading stops with a clear error."""
    folder = Path(folder)
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{folder} holds no text model (config.json is missing)") from None
    name = config.get("backend")
    if not isinstance(name, str):
        raise UsageError(f"{folder / 'config.json'} does not name its backend")
    cls = backend_class(name)
    loaded: TextBackend = (
        cls.load(folder, remote) if getattr(cls, "remote", False) else cls.load(folder)
    )
    return loaded
