"""DP-SGD for the text model through opacus: Poisson sampling, per-sample clipping, noise.

The budget is fixed in advance: opacus' accountant (PRV) picks the noise multiplier that
spends at most ``epsilon`` over exactly ``epochs`` planned epochs, so training runs for that
many steps - never "until a time budget", which would change the steps after the noise was
chosen. The accountant's epsilon after training is what we report.
"""

from __future__ import annotations

import time
import warnings
from functools import partial
from typing import Any

import numpy as np
import torch

from synthgen.text.gpt import GPT
from synthgen.text.train import (
    PromptDropout,
    Seq,
    TrainStats,
    lr_at,
    pad_batch,
    set_lr,
    token_losses,
)

ACCOUNTANT = "prv"  # tighter than RDP for the same noise (Gopi et al. 2021)


class _Seqs(torch.utils.data.Dataset):  # type: ignore[type-arg]
    """The examples, each with its prompt left out with probability ``dropout`` (a per-example
    coin that reads nothing from the data, so the privacy accounting is unchanged)."""

    def __init__(self, seqs: list[Seq], dropout: float, seed: int) -> None:
        self.seqs, self.drop = seqs, PromptDropout(dropout, np.random.default_rng([seed, 2]))

    def __len__(self) -> int:
        return len(self.seqs)

    def __getitem__(self, i: int) -> Seq:
        return self.drop([self.seqs[i]])[0]


def default_delta(n: int) -> float:
    """Well below 1/n, the usual rule: min(1e-5, 1 / (10 n))."""
    return min(1e-5, 1.0 / (10 * max(n, 1)))


def train_dp(
    model: GPT, train: list[Seq], cfg: dict[str, Any], seed: int, progress: Any = None
) -> TrainStats:
    """Train ``model`` in place under (epsilon, delta)-DP; hooks are removed afterwards."""
    from synthgen.registry import require

    require("opacus", "dp", "a DP text model")
    from opacus import PrivacyEngine

    n = len(train)
    delta = cfg["delta"] if cfg["delta"] is not None else default_delta(n)
    loader = torch.utils.data.DataLoader(
        _Seqs(train, cfg.get("prompt_dropout", 0.0), seed),
        batch_size=min(cfg["batch_size"], n),
        collate_fn=partial(pad_batch, pad_id=cfg["pad_id"]),
        generator=torch.Generator().manual_seed(seed),
    )
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], betas=(0.9, 0.95), weight_decay=0.0)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="opacus")  # secure-RNG and alpha-range notes
        # opacus' hooks on the embedding (integer inputs): torch notes the hook sees outputs only
        warnings.filterwarnings("ignore", message="Full backward hook is firing")
        engine = PrivacyEngine(accountant=ACCOUNTANT)
        dp_model, dp_opt, dp_loader = engine.make_private_with_epsilon(
            module=model,
            optimizer=opt,
            data_loader=loader,
            target_epsilon=cfg["epsilon"],
            target_delta=delta,
            epochs=cfg["epochs"],
            max_grad_norm=cfg["max_grad_norm"],
            poisson_sampling=True,
            noise_generator=torch.Generator().manual_seed(seed + 1),
        )
        stats = _run(dp_model, dp_opt, dp_loader, cfg, progress)
        spent = float(engine.get_epsilon(delta))
    dp_model.remove_hooks()
    for p in model.parameters():
        p.grad_sample = None  # type: ignore[attr-defined]
    stats.privacy = {
        "mechanism": "DP-SGD (opacus, Poisson sampling, flat clipping)",
        "accountant": ACCOUNTANT,
        "epsilon_budget": cfg["epsilon"],
        "epsilon_spent": round(spent, 4),
        "delta": delta,
        "noise_multiplier": float(dp_opt.noise_multiplier),
        "sample_rate": 1 / len(loader),
        "steps": stats.steps,
        "max_grad_norm": cfg["max_grad_norm"],
        "covers": "model weights and tokenizer (fixed byte alphabet, data-independent); "
        "not the validation loss reported on held-out texts",
    }
    return stats


def _run(model: Any, opt: Any, loader: Any, cfg: dict[str, Any], progress: Any) -> TrainStats:
    stats, t0 = TrainStats(), time.perf_counter()
    planned = cfg["epochs"] * len(loader)
    model.train()
    for _ in range(cfg["epochs"]):
        for ids, mask in loader:
            set_lr(opt, lr_at(stats.steps / planned, cfg["lr"]))
            opt.zero_grad(set_to_none=True)
            if ids.shape[0] == 0:  # an empty Poisson batch still takes a (pure noise) step
                logits, _ = model(torch.zeros((1, 1), dtype=torch.long))
                loss = logits.sum() * 0.0
            else:
                per_row = token_losses(model, ids, mask).sum(1) / mask.sum(1).clamp(min=1)
                loss = per_row.mean()
                stats.tokens += int((ids != cfg["pad_id"]).sum())
            loss.backward()
            opt.step()
            stats.steps += 1
            if progress is not None:
                progress(stats.steps, planned)
        stats.history.append({"step": stats.steps, "train_loss": round(loss.item(), 4)})
    stats.epochs = float(cfg["epochs"])
    stats.seconds = time.perf_counter() - t0
    return stats
