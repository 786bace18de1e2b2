"""The run's text stage: one TextSynthesizer per free-text column, fitted on the (PII-
scrubbed) training rows and asked for a text per synthetic row, conditioned on that row.

Under differential privacy a text column trains with DP-SGD (``params.epsilon``) and its
spend joins the run's ledger before the tabular model takes what is left; the leak guard,
which compares outputs with the training texts to reject copies, is listed as a step the
budget does not cover (it can only remove outputs, and says how many it removed).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from synthgen.errors import PrivacyBudgetError
from synthgen.schema.spec import Schema
from synthgen.text.auto import DefaultChoice, choose_default
from synthgen.text.synth import TextColumnSpec, TextSynthesizer

if TYPE_CHECKING:
    from synthgen.privacy.plan import DPPlan


class TextRun:
    def __init__(
        self, specs: dict[str, TextColumnSpec], schema: Schema, plan: DPPlan | None
    ) -> None:
        self.schema = schema
        self.plan = plan
        columns = [c.name for c in schema.of_kind("text")]
        self.defaulted = [c for c in columns if c not in specs]
        # the model for unconfigured columns: chosen once, said in the log and the report
        self.default: DefaultChoice | None = (
            choose_default(private=plan is not None) if self.defaulted else None
        )
        self.specs = {c: specs.get(c) or self._default_spec(c) for c in columns}
        self.models: dict[str, TextSynthesizer] = {}
        self.stats: dict[str, dict[str, Any]] = {}

    def _default_spec(self, column: str) -> TextColumnSpec:
        assert self.default is not None
        return TextColumnSpec(backend=self.default.backend, params=self.default.params(column))

    def default_note(self) -> str | None:
        """The log line (and report warning) saying who writes the unconfigured columns."""
        if self.default is None:
            return None
        cols = ", ".join(f"'{c}'" for c in self.defaulted)
        d = self.default
        what = (
            "SmolLM2-135M fine-tuned with LoRA on the column"
            if d.backend == "hf"
            else f"the local text model trained for {d.params('')['time_budget_s']:.0f} s"
        )
        return (
            f"free-text column(s) {cols}: written by {what} ({d.why}); configure them "
            f"under text.<column> (backend, budget, fields)"
        )

    def dp_problems(self) -> list[str]:
        """What a DP run cannot cover in these text settings (empty when all is well)."""
        return [
            f"text.{col}: a DP run trains text with DP-SGD and a budget: set "
            f"text.{col}.params.epsilon (backend local) or text.{col}.params.lora.epsilon "
            "(backend hf; DP-LoRA); it is taken from privacy.epsilon"
            for col, spec in self.specs.items()
            if _text_epsilon(spec) is None
        ]

    def fit(self, train: pd.DataFrame, seed: int, say: Any = None) -> None:
        """Fit every text column (DP ones spend from the plan's ledger, in order)."""
        for i, (col, spec) in enumerate(self.specs.items()):
            if say is not None:
                say(f"learning text column '{col}' ({spec.backend})")
            if spec.backend in ("hf", "openai") and "column" not in spec.params:
                spec = spec.model_copy(update={"params": {**spec.params, "column": col}})
            if self.plan is not None:
                want = _text_epsilon(spec)
                assert want is not None  # dp_problems refused the run before any work
                if want >= self.plan.epsilon or not self.plan.ledger.fits():
                    raise PrivacyBudgetError(
                        f"text.{col}'s epsilon ({want:g}) leaves nothing of the budget "
                        f"(privacy.epsilon {self.plan.epsilon:g}) for the table",
                        hint="lower it or raise privacy.epsilon",
                    )
                spec = _with_delta(spec, self.plan.delta)
            model = TextSynthesizer(progress=True).fit(
                train, col, spec, self.schema, seed=seed + 7919 * i
            )
            self.models[col] = model
            if self.plan is not None:
                self._record(col, model)
                self.plan.text_columns.add(col)
        if self.plan is not None and self.models:
            self.plan.uncovered.append(
                "text leak guard: compares generated texts with training texts to reject "
                "copies and PII; it only removes outputs (counts in the report)"
            )

    def _record(self, col: str, model: TextSynthesizer) -> None:
        assert self.plan is not None
        p = model.describe()["model"].get("privacy") or {}
        self.plan.ledger.spend_sgd(
            "DP-SGD (text)",
            f"text column '{col}'",
            float(p["noise_multiplier"]),
            float(p["sample_rate"]),
            int(p["steps"]),
            **{
                k: v
                for k, v in p.items()
                if k not in ("noise_multiplier", "sample_rate", "steps", "mechanism")
            },
        )

    def generate(self, syn: pd.DataFrame, seed: int) -> pd.DataFrame:
        out = syn.copy()
        for i, (col, model) in enumerate(self.models.items()):
            texts, stats = model.generate(out, seed=seed + 104729 * (i + 1))
            out[col] = texts.to_numpy()
            self.stats[col] = stats
        return out

    def summary(self) -> dict[str, Any]:
        return {
            col: {
                **m.describe(),
                "generation": self.stats.get(col, {}),
                **(
                    {"default_choice": self.default.summary()}
                    if self.default is not None and col in self.defaulted
                    else {}
                ),
            }
            for col, m in self.models.items()
        }

    def save(self, folder: Path) -> None:
        for m in self.models.values():
            m.save(folder)


def _dp_params(spec: TextColumnSpec) -> dict[str, Any] | None:
    """Where a backend keeps its DP-SGD settings: the local model's params, hf's lora."""
    if spec.backend == "local":
        return spec.params
    if spec.backend == "hf" and isinstance(spec.params.get("lora"), dict):
        return dict(spec.params["lora"])
    return None


def _text_epsilon(spec: TextColumnSpec) -> float | None:
    dp = _dp_params(spec)
    return float(dp["epsilon"]) if dp and dp.get("epsilon") else None


def _with_delta(spec: TextColumnSpec, delta: float) -> TextColumnSpec:
    """The run's delta where the column sets none."""
    dp = _dp_params(spec)
    assert dp is not None
    dp = {**dp, "delta": dp.get("delta") or delta}
    params = {**spec.params, **({"lora": dp} if spec.backend == "hf" else dp)}
    return spec.model_copy(update={"params": params})
