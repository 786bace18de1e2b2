"""A ``NeuralGenerator`` (tvae, ctgan) trained data-parallel on Ray Train, its own loop in each
worker (``NeuralGenerator._train_loop`` with a ``nn.ddp.DDPShard``).

The driver encodes the table, builds the networks and the optimiser from the seed as a
local fit does, then sends the generator, the encoded rows, the held-out rows, the numpy
generator and torch's random state once through Ray's object store. Every worker starts
from those same states, draws the same batches and takes its share of each; checkpoint
scores are computed alike in every worker (same weights, same draws), and the clock is
rank 0's, so every worker stops at the same epoch. Rank 0 returns the weights, the
history and the random states, which the driver takes: one worker gives the local fit's
model byte for byte, and the fit goes on from the same states.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np


def train_on_ray(
    gen: Any, matrix: Any, holdout: Any, rng: np.random.Generator, cluster: Any
) -> tuple[list[dict[str, float]], int]:
    """Train ``gen`` (networks built, optimiser ready) on ``cluster``; its weights, history
    and epochs trained as a local ``_train_loop`` leaves them."""
    import torch

    from synthgen import logs
    from synthgen.scale.ray_engine import connect
    from synthgen.scale.ray_train import run_trainer, training_workers

    w = training_workers(cluster)
    gen._check_workers(w)
    ray = connect(cluster.address, w)
    job = ray.put(
        {
            "gen": gen,
            "matrix": matrix.numpy(),
            "holdout": holdout,
            "rng": rng.bit_generator.state,
            "torch": torch.random.get_rng_state().numpy(),
        }
    )
    t = time.perf_counter()
    out = run_trainer(_worker, job, w, cluster)
    for name, module in gen._train_modules().items():
        module.load_state_dict({k: torch.tensor(v) for k, v in out["weights"][name].items()})
    rng.bit_generator.state = out["rng"]
    torch.random.set_rng_state(torch.from_numpy(out["torch"].copy()))
    if cluster.stats is not None:
        cluster.stats.update(
            workers=w, seconds=time.perf_counter() - t, cpu_s=out["cpu_s"], peak_rss=out["peak_rss"]
        )
    history: list[dict[str, float]] = out["history"]
    (cluster.say or logs.say)(f"trained {out['epochs']} epoch(s) of {gen.name} on Ray")
    return history, int(out["epochs"])


def _worker(config: dict[str, Any]) -> dict[str, Any] | None:
    """One Ray Train worker: the generator's loop on its share of every batch."""
    import ray
    import torch
    from ray import train

    from synthgen.generators.nn.ddp import DDPShard, state_arrays
    from synthgen.generators.nn.loop import torch_threads
    from synthgen.scale.ray_train import usage

    ctx = train.get_context()
    shard = DDPShard(ctx.get_world_rank(), ctx.get_world_size())
    job = ray.get(config["job"])
    gen = job["gen"]
    rng = np.random.default_rng()
    rng.bit_generator.state = job["rng"]
    torch.random.set_rng_state(torch.from_numpy(job["torch"].copy()))
    queue = config["queue"]

    def report(entry: dict[str, Any], epochs: int) -> None:
        if shard.rank == 0:
            queue.put((entry, epochs))

    matrix = torch.from_numpy(job["matrix"].copy())
    with torch_threads(gen.params.threads):
        history, epochs = gen._train_loop(matrix, job["holdout"], rng, shard, report)
    cpu_s, peak_rss = usage(shard)
    if shard.rank != 0:
        return None
    return {
        "cpu_s": cpu_s,
        "peak_rss": peak_rss,
        "weights": {k: state_arrays(m) for k, m in gen._train_modules().items()},
        "history": history,
        "epochs": epochs,
        "rng": rng.bit_generator.state,
        "torch": torch.random.get_rng_state().numpy(),  # Ray Train returns no tensors
    }
