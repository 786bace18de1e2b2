"""DP-LoRA: the ``hf`` backend's adapters trained with DP-SGD (opacus), as the local text
model is (:mod:`synthgen.text.dp`): Poisson sampling, each text's gradient clipped to
``max_grad_norm``, Gaussian noise, the noise set in advance by the PRV accountant to spend at
most ``epsilon`` over exactly ``epochs`` passes.

Only the adapters learn from the texts. The pretrained weights and the tokenizer are public
(read from the model folder, never fitted); the longest text written is ``lora.max_length``
tokens, a setting, not the texts' 99th percentile as without DP. Each text's loss is the mean
over its own tokens, and the batch's loss the mean over texts, so one text's gradient never
depends on the others' lengths (a batch-wide token mean would break the clipping bound).
"""

from __future__ import annotations

import time
import warnings
from functools import partial
from typing import Any

from synthgen.generators.seeding import seeded
from synthgen.text.dp import ACCOUNTANT, default_delta
from synthgen.text.hf_train import LoraParams, right_padded, with_adapters

Pair = tuple[list[int], list[int]]


def _collate(items: list[tuple[Any, Any]], pad: int) -> dict[str, Any]:
    return right_padded([(a.tolist(), b.tolist()) for a, b in items], pad)


def _empty(batch: Any) -> bool:
    """opacus hands an empty Poisson batch over as empty tensors shaped like a real one."""
    first = batch["input_ids"] if isinstance(batch, dict) else batch[0]
    return int(first.shape[0]) == 0


def _per_text_loss(model: Any, batch: dict[str, Any]) -> Any:
    """The mean of each text's own mean token loss (the tokens its labels score)."""
    import torch.nn.functional as F

    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    labels = batch["labels"][:, 1:]
    losses = F.cross_entropy(
        logits[:, :-1].transpose(1, 2), labels, ignore_index=-100, reduction="none"
    )
    scored = (labels != -100).sum(1).clamp(min=1)
    return (losses.sum(1) / scored).mean()


def train_lora_dp(
    model: Any,
    pairs: list[Pair],
    lp: LoraParams,
    pad: int,
    seed: int,
    on_step: Any = None,
    device: str = "cpu",
) -> tuple[Any, dict[str, Any]]:
    """The peft model with adapters trained under (epsilon, delta)-DP, and what training did
    (loss, steps, and the ``privacy`` record the run's ledger takes)."""
    from synthgen.registry import require

    require("opacus", "dp", "a DP text model")
    import torch
    from opacus import PrivacyEngine

    assert lp.epsilon is not None
    n = len(pairs)
    delta = lp.delta if lp.delta is not None else default_delta(n)
    data = [(torch.tensor(a), torch.tensor(b)) for a, b in pairs]
    loader: Any = torch.utils.data.DataLoader(
        data,  # type: ignore[arg-type]
        batch_size=min(lp.batch_size, n),
        collate_fn=partial(_collate, pad=pad),
        generator=torch.Generator().manual_seed(seed),
    )
    with seeded(seed):
        peft_model = with_adapters(model, lp)
    trainable = [w for w in peft_model.parameters() if w.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=lp.lr)
    losses: list[float] = []
    tokens, t0 = 0, time.perf_counter()
    with warnings.catch_warnings(), seeded(seed):
        warnings.filterwarnings("ignore", module="opacus")  # secure-RNG and alpha-range notes
        warnings.filterwarnings("ignore", message="Full backward hook is firing")
        engine = PrivacyEngine(accountant=ACCOUNTANT)
        dp_model, dp_opt, dp_loader = engine.make_private_with_epsilon(
            module=peft_model,
            optimizer=opt,
            data_loader=loader,
            target_epsilon=lp.epsilon,
            target_delta=delta,
            epochs=lp.epochs,
            max_grad_norm=lp.max_grad_norm,
            poisson_sampling=True,
            noise_generator=torch.Generator().manual_seed(seed + 1),
        )
        planned = lp.epochs * len(dp_loader)
        dp_model.train()
        for _ in range(lp.epochs):
            for batch in dp_loader:
                dp_opt.zero_grad(set_to_none=True)
                if _empty(batch):  # an empty Poisson batch still takes a (pure noise) step
                    dummy = torch.full((1, 2), pad, dtype=torch.long, device=device)
                    loss = dp_model(input_ids=dummy).logits.sum() * 0.0
                else:
                    batch = {k: v.to(device) for k, v in batch.items()}
                    loss = _per_text_loss(dp_model, batch)
                    tokens += int(batch["attention_mask"].sum())
                loss.backward()
                dp_opt.step()
                losses.append(round(float(loss.detach()), 4))
                if on_step is not None:
                    on_step(len(losses), planned)
        spent = float(engine.get_epsilon(delta))
    dp_model.remove_hooks()
    for w in trainable:
        w.grad_sample = None  # type: ignore[attr-defined]
    seconds = time.perf_counter() - t0
    stats = {
        "steps": len(losses),
        "epochs": float(lp.epochs),
        "stopped_by": "epochs",
        "train_tokens": tokens,
        "train_seconds": round(seconds, 2),
        "train_tokens_per_s": round(tokens / seconds, 1) if seconds else None,
        "privacy": {
            "mechanism": "DP-SGD on LoRA adapters (opacus, Poisson sampling, flat clipping)",
            "accountant": ACCOUNTANT,
            "epsilon_budget": lp.epsilon,
            "epsilon_spent": round(spent, 4),
            "delta": delta,
            "noise_multiplier": float(dp_opt.noise_multiplier),
            "sample_rate": 1 / len(loader),
            "steps": len(losses),
            "max_grad_norm": lp.max_grad_norm,
            "covers": "the LoRA adapters (the pretrained weights and tokenizer are public, "
            "never fitted; the longest text is lora.max_length, a setting)",
        },
    }
    return peft_model.eval(), {"loss": losses, **stats}
