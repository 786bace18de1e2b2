"""Data-parallel training (``generators.nn.ddp``) in two real gloo processes against one
process on the same global batches: the same step (the network has no dropout), a worker
with an empty share, and the whole training loop with its loss figures."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from synthgen.generators.autoreg.generator import AutoregParams
from synthgen.generators.autoreg.network import MaskedNet
from synthgen.generators.autoreg.training import _RowLoss, train_network
from synthgen.generators.nn.ddp import WHOLE, DDPShard, Whole, state_arrays

CARDS = [5, 4, 6]


def _net() -> MaskedNet:
    return MaskedNet(CARDS, [0.0, 0.25, 0.0], 4, 8)


def _codes(n: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    cols = [torch.randint(0, k, (n,), generator=g) for k in CARDS]
    cols[1] = (cols[0] + cols[1]) % CARDS[1]  # something to learn
    return torch.stack(cols, 1)


def _steps(shard: Whole) -> dict[str, Any]:
    """Two optimiser steps (a 37-row batch, cut 18 / 19; a 1-row batch, one share empty),
    then a short training run with a validation share."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = _net()
    model = shard.wrap(_RowLoss(net, net.mask(torch.arange(len(CARDS)))))
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    codes = _codes(400)
    out: dict[str, Any] = {}
    for name, batch in [("step37", codes[:37]), ("step1", codes[37:38])]:
        opt.zero_grad(set_to_none=True)
        loss, summed = shard.batch_loss(model, batch)
        loss.backward()  # DDP: the gradients averaged over the workers, here
        out[f"{name}_grad"] = {k: v.grad.numpy().copy() for k, v in net.named_parameters()}
        opt.step()
        out[name] = state_arrays(net)
        out[f"{name}_loss"] = shard.total(summed)
    p = AutoregParams(epochs=3, batch_size=64, validation_share=0.1)
    torch.manual_seed(0)
    trained, history = train_network(
        _net, codes, torch.arange(3), p, 5, time.perf_counter(), shard=shard
    )
    out["trained"] = state_arrays(trained)
    out["history"] = [(h["loss"], h["validation_loss"]) for h in history]
    out["dp"] = _dp_run(shard)
    out["ctgan"] = _ctgan_run(shard)
    out["entity"] = _entity_run(shard)
    if shard.world > 1:  # a time budget: rank 0's clock decides for both
        p = AutoregParams(epochs=100_000, batch_size=64, time_budget_s=1.0)
        _, out["budget"] = train_network(
            _net, codes, torch.arange(3), p, 6, time.perf_counter(), shard=shard
        )
    return out


def _dp_run(shard: Whole) -> dict[str, Any]:
    """Two DP-SGD epochs: the same Poisson batches in every process, each clipping its
    share; the sums added up and the noise added once, by rank 0."""
    from synthgen.generators.nn.dpsgd import DPSGD
    from synthgen.privacy.accounting import PrivacyLedger

    codes = _codes(400)
    dp = DPSGD(len(codes), 64, 2, PrivacyLedger(3.0, 1e-5), 1.0)
    p = AutoregParams(epochs=2, batch_size=64)
    torch.manual_seed(3)
    trained, _ = train_network(
        _net, codes, torch.arange(3), p, 9, time.perf_counter(), dp,
        np.random.default_rng(4), shard=shard,
    )  # fmt: skip
    return {"trained": state_arrays(trained), "steps": dp.steps_done}


def _entity_run(shard: Whole) -> dict[str, Any]:
    """A training run where each process holds only its own rows (a third of the rows on
    rank 1, the rest on rank 0: uneven on purpose), split for validation as one process
    splits them; one process: the ordinary run on all the rows."""
    from synthgen.generators.autoreg.training import holdout_split
    from synthgen.generators.nn.ddp import EntityShard

    codes = _codes(600)
    p = AutoregParams(epochs=4, batch_size=64, validation_share=0.2)
    torch.manual_seed(0)
    if shard.world == 1:
        trained, history = train_network(_net, codes, torch.arange(3), p, 5, time.perf_counter())
    else:
        train_idx, val_idx = holdout_split(len(codes), p, 5, False)
        part = (np.arange(len(codes)) % 3 == 0).astype(int)
        mine = train_idx[torch.from_numpy(part[train_idx.numpy()] == shard.rank)]
        held = val_idx[torch.from_numpy(part[val_idx.numpy()] == shard.rank)]
        counts = [int((part[train_idx.numpy()] == r).sum()) for r in range(2)]
        vals = [int((part[val_idx.numpy()] == r).sum()) for r in range(2)]
        own = EntityShard(shard.rank, shard.world, counts, vals)
        trained, history = train_network(
            _net, codes[mine], torch.arange(3), p, 5, time.perf_counter(), shard=own,
            held=codes[held],
        )  # fmt: skip
    return {"trained": state_arrays(trained), "history": history, "rows": len(codes)}


def _ctgan_run(shard: Whole) -> dict[str, Any]:
    """A short ctgan fit (checkpoints scored every epoch) with ``shard`` as its loop's."""
    import pandas as pd

    from synthgen.generators.ctgan import CTGANGenerator

    class Sharded(CTGANGenerator):
        def _train_loop(self, matrix, holdout, rng, _shard, on_epoch=None):  # type: ignore[no-untyped-def]
            return super()._train_loop(matrix, holdout, rng, shard, on_epoch)

    rng = np.random.default_rng(2)
    x = rng.normal(size=600)
    df = pd.DataFrame({"x": x, "y": x * 2 + rng.normal(size=600), "g": np.where(x > 0, "a", "b")})
    gen = Sharded(epochs=3, batch_size=100, early_stopping_patience=5, threads=1).fit(df, seed=3)
    mods = gen._train_modules()
    return {"weights": {k: state_arrays(m) for k, m in mods.items()}, "history": gen.history_}


def _worker(rank: int, world: int, store: str, out: str) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        got = _steps(DDPShard(rank, world))
        torch.save(got, f"{out}.{rank}")
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def two(tmp_path_factory) -> list[dict[str, Any]]:
    import torch.multiprocessing as mp

    folder = tmp_path_factory.mktemp("ddp")
    out = str(folder / "out")
    ctx = mp.start_processes(_worker, args=(2, str(folder / "store"), out), nprocs=2, join=False)
    deadline = time.monotonic() + 300  # workers that decided apart would wait for ever
    while not ctx.join(timeout=5):
        if time.monotonic() > deadline:
            for proc in ctx.processes:
                proc.kill()
            pytest.fail("the two workers did not finish together")
    return [torch.load(f"{out}.{r}", weights_only=False) for r in (0, 1)]


@pytest.fixture(scope="module")
def one() -> dict[str, Any]:
    return _steps(WHOLE)


def test_one_ddp_step_on_two_workers_is_the_single_process_step(two, one):
    for name in ("step37", "step1"):
        for k, g in one[f"{name}_grad"].items():  # the global batch's mean-loss gradient
            np.testing.assert_allclose(two[0][f"{name}_grad"][k], g, rtol=1e-5, atol=1e-7)
        for k, v in one[name].items():
            np.testing.assert_allclose(two[0][name][k], v, rtol=1e-5, atol=1e-6, err_msg=k)
            assert np.array_equal(two[0][name][k], two[1][name][k])  # the workers agree
        assert two[0][f"{name}_loss"] == pytest.approx(one[f"{name}_loss"], rel=1e-6)


def test_a_ddp_training_run_follows_the_single_process_run(two, one):
    assert len(two[0]["history"]) == len(one["history"]) == 3
    for (loss, val), (loss1, val1) in zip(two[0]["history"], one["history"], strict=True):
        assert loss == pytest.approx(loss1, rel=1e-5) and val == pytest.approx(val1, rel=1e-5)
    assert two[0]["history"] == two[1]["history"]  # what the loop decides from is shared
    for k, v in one["trained"].items():
        np.testing.assert_allclose(two[0]["trained"][k], v, rtol=1e-4, atol=1e-5, err_msg=k)
        assert np.array_equal(two[0]["trained"][k], two[1]["trained"][k])
    assert not np.allclose(one["trained"]["w1"], one["step1"]["w1"])  # it did train


def test_a_time_budget_stops_every_worker_at_the_same_epoch(two):
    a, b = two[0]["budget"], two[1]["budget"]
    assert a == b and 1 <= len(a) < 100_000  # the same epochs, seconds and losses
    assert a[-1]["seconds"] <= 1.0 * 1.5


def test_ctgan_workers_hold_one_model_and_follow_the_single_process_loss(two, one):
    """Every process ends with the same weights and batch-norm statistics (summed
    gradients, averaged buffers) and the same history (the checkpoint score decided
    alike); the loss is the single-process loss up to what sharing batch norm changes."""
    a, b = (run["ctgan"] for run in two)
    for name in a["weights"]:
        for key, v in a["weights"][name].items():
            np.testing.assert_array_equal(v, b["weights"][name][key], err_msg=f"{name}.{key}")
    assert a["history"] == b["history"] and len(a["history"]) == 3
    assert all("score" in h for h in a["history"])
    local = one["ctgan"]["history"]
    assert a["history"][0]["loss"] == pytest.approx(local[0]["loss"], rel=0.1, abs=0.05)


def test_workers_holding_only_their_own_rows_train_one_model_like_one_process(two, one):
    """Sharded by entity: each worker sees only its rows, yet every worker ends with the
    same weights and figures; the epoch losses are over every row (the held-out loss on
    exactly the single-process held-out rows) and close to the single-process run's."""
    a, b = (run["entity"] for run in two)
    for key, v in a["trained"].items():
        np.testing.assert_array_equal(v, b["trained"][key], err_msg=key)
    assert a["history"] == b["history"]
    local = one["entity"]["history"]
    assert len(a["history"]) == len(local) == 4
    for h, h1 in zip(a["history"], local, strict=True):
        assert h["validation_loss"] == pytest.approx(h1["validation_loss"], rel=0.03)
        assert h["loss"] == pytest.approx(h1["loss"], rel=0.03)
    assert a["trained"]["w1"].tolist() != one["entity"]["trained"]["w1"].tolist()


def test_an_entity_shard_slices_every_step_in_proportion():
    """Each step takes the next slice of each worker's rows; the step's batch size (known
    in every worker from the counts) is the slices' total, and an epoch covers every row
    once."""
    from synthgen.generators.nn.ddp import EntityShard

    counts = [70, 31]
    seen, sizes, told = [], [], []
    for r in range(2):
        shard = EntityShard(r, 2, counts, [0, 0])
        rows = torch.arange(counts[r]) + (0 if r == 0 else 1000)
        g = torch.Generator().manual_seed(4)
        got, batch = [], []
        for x in shard.batches(rows, 7, g):
            got.append(x)
            batch.append(shard.batch_rows)
        sizes.append([len(x) for x in got])
        told.append(batch)
        seen.append(torch.cat(got))
    assert [sum(x) for x in sizes] == counts
    both = [x + y for x, y in zip(*sizes, strict=True)]
    assert told[0] == told[1] == both and set(both) <= {14, 15}
    assert sorted(seen[0].tolist()) == list(range(70)) and len(set(seen[1].tolist())) == 31


def test_the_shares_of_a_batch_cover_it_once(tmp_path: Path):
    rows = torch.arange(37)
    parts = [DDPShard(r, 3).part(rows) for r in range(3)]
    assert [len(x) for x in parts] == [12, 12, 13]
    assert torch.equal(torch.cat(parts), rows)
    assert [len(DDPShard(r, 2).part(rows[:1])) for r in range(2)] == [0, 1]


def test_a_dp_sgd_run_on_two_workers_is_the_single_process_run(two, one):
    """Clipping is per row, so cutting the batch does not change the clipped sum; the noise
    is rank 0's draw, the one a single process makes: the same model up to float order."""
    assert two[0]["dp"]["steps"] == two[1]["dp"]["steps"] == one["dp"]["steps"] > 0
    for k, v in one["dp"]["trained"].items():
        np.testing.assert_allclose(two[0]["dp"]["trained"][k], v, rtol=1e-4, atol=1e-5, err_msg=k)
        assert np.array_equal(two[0]["dp"]["trained"][k], two[1]["dp"]["trained"][k])
    assert not np.allclose(one["dp"]["trained"]["w1"], one["trained"]["w1"])  # noise differs
