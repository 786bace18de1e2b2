"""A torch generator's training, data-parallel on a Ray cluster (Ray Train, DDP over gloo).

The driver encodes the table as ever and builds the network (the initial weights of a local
fit with the same seed); the codes go to the workers once through Ray's object store, so
the encoded training table must fit in each worker's memory. Ray Train's ``TorchTrainer``
starts ``W`` workers (one CPU each) in a gloo process group and each runs the generator's
own training loop on its share of every global batch (``generators.nn.ddp``): the global
batch is the recipe's, so the optimisation is the single-process one up to the order
floats are added in. Rank 0 sends each epoch's figures to the driver (the progress bar)
and returns the trained weights, which the driver loads; the model is saved as usual.
"""

from __future__ import annotations

import contextvars
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from synthgen import logs
from synthgen.errors import (
    Interrupted,
    MissingExtraError,
    SynthgenError,
    UsageError,
)
from synthgen.generators.distributed import RayCluster
from synthgen.progress import Progress
from synthgen.scale.ray_engine import connect

if TYPE_CHECKING:
    from torch import Tensor, nn

    from synthgen.recipe import Recipe


def train_cluster(
    recipe: Recipe, gen: Any, private: bool, say: Callable[[str], None]
) -> RayCluster | None:
    """Where a run's ``gen`` trains: on Ray (``execution: {engine: ray}`` and a generator
    that can, under ``privacy:`` one whose DP-SGD can), checked before any work (Ray there,
    the workers fit the cluster); else here (None), saying so: the rows are still drawn on
    Ray."""
    ex = recipe.execution
    if ex.engine == "local":
        return None
    if not gen.trains_on_ray or (private and not gen.dp_trains_on_ray):
        name = recipe.generator.name
        what = f"{name}'s DP-SGD" if gen.trains_on_ray else name
        say(f"{what} trains here (not data-parallel on Ray); the rows are drawn on Ray")
        return None
    return RayCluster(training_workers(RayCluster(ex.workers, ex.address)), ex.address, say)


def training_workers(cluster: RayCluster) -> int:
    """Connect (a missing ``ray`` or a bad address: a UsageError) and return the number of
    training workers: ``cluster.workers``, or one per CPU of the cluster. More workers than
    CPUs is refused: a worker that cannot be placed would wait for ever."""
    ray = connect(cluster.address, cluster.workers)
    _check_ray_train()
    cpus = int(ray.cluster_resources().get("CPU", 0))
    w = cluster.workers or max(1, cpus)
    if w > cpus:
        raise UsageError(
            f"execution.workers is {w} but the Ray cluster has {cpus} CPU(s); "
            "each training worker takes one CPU",
            hint=f"set workers: {max(cpus, 1)} or fewer (--workers), or add nodes to the cluster",
        )
    return w


def _check_ray_train() -> None:
    """Ray Train with its v2 API (a training function's return value comes back)."""
    try:
        from ray.train import Result
        from ray.train.torch import TorchTrainer  # noqa: F401
    except ImportError:
        raise MissingExtraError("training on Ray (--engine ray)", "ray", "ray[train]") from None
    if "return_value" not in getattr(Result, "__dataclass_fields__", {}):
        raise UsageError(
            "training on Ray needs Ray Train's v2 API with Result.return_value; this Ray "
            "is older or has RAY_TRAIN_V2_ENABLED=0",
            hint="pip install -U 'ray[train]' and leave RAY_TRAIN_V2_ENABLED unset",
        )


def fit_on_ray(
    build: Callable[[], nn.Module],
    codes: Tensor,
    rank: Tensor,
    p: Any,
    seed: int,
    started: float,
    cluster: RayCluster,
    dp: Any = None,
    rng: Any = None,
) -> tuple[Any, list[dict[str, Any]]]:
    """``training.train_network``'s network and history, trained by Ray Train workers.
    Under DP-SGD (``dp``, with the fit's ``rng`` for the Poisson batches) the steps taken
    are counted in ``dp`` as a local fit counts them (all planned ones if the run fails)."""
    import torch

    say = cluster.say or logs.say
    w = training_workers(cluster)
    ray = connect(cluster.address, w)
    nets = [build()]
    state = torch.random.get_rng_state().numpy()  # what a local fit trains from (DP noise)
    nets.append(build())  # a second pass's network too, as a local fit would build it
    own = None if dp is not None or cluster.parts is None else _own_rows(codes, p, seed, cluster, w)
    job = ray.put(
        {
            "codes": codes.numpy() if own is None else None,
            "own": own,
            "rank": rank.numpy(),
            "params": p,
            "seed": seed,
            "nets": nets,
            "elapsed": time.perf_counter() - started,
            "sent": time.time(),
            "dp": dp,
            "rng": None if rng is None else rng.bit_generator.state,
            "torch": state,
        }
    )
    if dp is not None:  # spent whatever happens; the count is corrected once the run ends
        dp.steps_done = dp.steps_planned
    how = None
    if own is not None:
        rows = ", ".join(f"{n:,}" for n in own["rows"])
        how = f"each holding its own rows ({rows} training rows)"
    out = run_trainer(_train_worker, job, w, cluster, how)
    if dp is not None:
        dp.steps_done = out["steps_done"]
        rng.bit_generator.state = out["rng"]
        torch.random.set_rng_state(torch.from_numpy(out["torch"].copy()))
    net = nets[0]
    net.load_state_dict({k: torch.tensor(v) for k, v in out["weights"].items()})  # a copy
    history: list[dict[str, Any]] = out["history"]
    if cluster.stats is not None:
        fit = {"workers": w, "cpu_s": out["cpu_s"], "peak_rss": out["peak_rss"]}
        if own is not None:
            fit["rows"] = own["rows"]
        cluster.stats.update(fit)
        cluster.stats.setdefault("fits", []).append(fit)  # one per network trained
    last = history[-1]
    if last.get("loss") is not None:
        val = last.get("validation_loss")
        tail = f", validation loss {val:.4f}" if val is not None else ""
        say(f"trained {len(history)} epoch(s) on Ray: loss {last['loss']:.4f}{tail}")
    return net, history


def _own_rows(codes: Tensor, p: Any, seed: int, cluster: RayCluster, w: int) -> dict[str, Any]:
    """The rows cut once here (as ``holdout_split`` cuts them), then dealt out by part: each
    worker's training and held-out rows put in the object store separately, so a worker
    fetches only its own."""
    import numpy as np

    from synthgen.generators.autoreg.training import holdout_split

    ray = connect(cluster.address, w)
    part = np.asarray(cluster.parts, dtype=np.int64) % w
    if len(part) != len(codes):
        raise SynthgenError(f"{len(part)} row parts for {len(codes)} rows")
    train_idx, val_idx = (x.numpy() for x in holdout_split(len(codes), p, seed, False))
    x = codes.numpy()
    refs, rows, val = [], [], []
    for r in range(w):
        a, b = train_idx[part[train_idx] == r], val_idx[part[val_idx] == r]
        refs.append((ray.put(x[a]), ray.put(x[b])))
        rows.append(len(a))
        val.append(len(b))
    return {"refs": refs, "rows": rows, "val": val}


def run_trainer(
    worker: Callable[[dict[str, Any]], Any],
    job: Any,
    w: int,
    cluster: RayCluster,
    how: str | None = None,
) -> dict[str, Any]:
    """Run ``worker`` on ``w`` Ray Train workers in a gloo group (its config: the ``job``
    object ref and a ``queue`` rank 0 reports epochs to, followed here by a progress bar);
    rank 0's return value. A worker's synthgen error is raised as itself; Ctrl-C stops
    the workers and raises Interrupted."""
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer
    from ray.util.queue import Queue

    say = cluster.say or logs.say
    queue = Queue(actor_options={"num_cpus": 0})
    storage = tempfile.mkdtemp(prefix="synthgen-train-")
    trainer = TorchTrainer(
        worker,  # type: ignore[arg-type]  # rank 0's return value is the result
        train_loop_config={"job": job, "queue": queue},
        scaling_config=ScalingConfig(num_workers=w, resources_per_worker={"CPU": 1}),
        torch_config=TorchConfig(backend="gloo"),
        run_config=RunConfig(name=f"synthgen-{uuid.uuid4().hex[:12]}", storage_path=storage),
    )
    how = how or "each a share of every batch"
    say(f"training on Ray: {w} worker(s), {how} (DDP, gloo)")
    try:
        with _following(queue, f"training on {w} Ray worker(s)"), _own_sigint():
            result = trainer.fit()  # Ctrl-C in it: Ray Train aborts the workers, then returns
    except Exception as err:  # noqa: BLE001 - a worker's synthgen error is raised as itself
        raise _worker_error(err) from None
    finally:
        queue.shutdown(force=True)
        shutil.rmtree(storage, ignore_errors=True)
    out = result.return_value  # type: ignore[attr-defined]  # Ray Train 2.x Result
    if out is None:  # rank 0 always returns its weights: the run was aborted
        raise Interrupted(signal.SIGINT)
    return dict(out)


def _train_worker(config: dict[str, Any]) -> dict[str, Any] | None:
    """One Ray Train worker: the generator's loop on this worker's share of every batch."""
    import numpy as np
    import ray
    import torch
    from ray import train

    from synthgen.generators.autoreg.training import train_network
    from synthgen.generators.nn.ddp import DDPShard, EntityShard, state_arrays
    from synthgen.generators.nn.loop import torch_threads

    ctx = train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    job = ray.get(config["job"])
    own, held = job["own"], None
    if own is None:  # every worker holds every row and takes its share of each batch
        shard: DDPShard = DDPShard(rank, world)
        codes = torch.from_numpy(job["codes"].copy())
    else:  # its own rows only (a multi-table fit sharded by root entity)
        shard = EntityShard(rank, world, own["rows"], own["val"])
        mine, theirs = ray.get(list(own["refs"][rank]))
        codes, held = torch.from_numpy(mine.copy()), torch.from_numpy(theirs.copy())
    nets = iter(job["nets"])
    started = time.perf_counter() - job["elapsed"] - max(0.0, time.time() - job["sent"])
    queue = config["queue"]

    def report(entry: dict[str, Any], epochs: int) -> None:
        if shard.rank == 0:
            queue.put((entry, epochs))

    p, dp, rng = job["params"], job["dp"], None
    if job["rng"] is not None:  # every worker draws the same Poisson batches
        rng = np.random.default_rng()
        rng.bit_generator.state = job["rng"]
    torch.random.set_rng_state(torch.from_numpy(job["torch"].copy()))
    with torch_threads(p.threads):
        net, history = train_network(
            lambda: next(nets),
            codes,
            torch.from_numpy(job["rank"].copy()),
            p,
            job["seed"],
            started,
            dp,
            rng,
            shard=shard,
            on_epoch=report,
            held=held,
        )
    cpu_s, peak_rss = usage(shard)
    if shard.rank != 0:
        return None
    out = {"weights": state_arrays(net), "history": history, "cpu_s": cpu_s, "peak_rss": peak_rss}
    out["torch"] = torch.random.get_rng_state().numpy()  # Ray Train returns no tensors
    if dp is not None:
        assert rng is not None
        out |= {"steps_done": dp.steps_done, "rng": rng.bit_generator.state}
    return out


def usage(shard: Any) -> tuple[list[float], list[int]]:
    """Every worker's CPU seconds (its whole process, start-up included) and peak RSS."""
    import resource

    import torch
    import torch.distributed as dist

    from synthgen.scale.ray_engine import peak_rss_bytes

    me = resource.getrusage(resource.RUSAGE_SELF)
    t = torch.zeros(2, shard.world, dtype=torch.float64)
    t[0, shard.rank], t[1, shard.rank] = me.ru_utime + me.ru_stime, peak_rss_bytes()
    dist.all_reduce(t)
    return [round(float(x), 3) for x in t[0]], [int(x) for x in t[1]]


@contextmanager
def _following(queue: Any, what: str) -> Iterator[None]:
    """A progress bar over the epochs rank 0 reports, and a debug line for each, drawn by a
    thread while the block (the training) runs."""
    from queue import Empty

    stop = threading.Event()

    def follow() -> None:
        done, base, current = 0, 0, 1
        with Progress(what, None, unit="epoch") as bar:
            while True:
                try:
                    entry, epochs = queue.get(timeout=0.5)
                except Empty:
                    if stop.is_set():
                        return
                    continue
                except Exception:  # noqa: BLE001 - the queue is gone: the training ended
                    return
                if entry["pass"] != current:
                    current, base = entry["pass"], done
                done += 1
                bar.update(done, base + epochs)
                logs.LOGGER.debug(
                    "epoch %d (pass %d): loss %s, validation loss %s",
                    entry["epoch"],
                    entry["pass"],
                    _fmt(entry.get("loss")),
                    _fmt(entry.get("validation_loss")),
                )

    thread = threading.Thread(  # in this context: a quiet command stays quiet
        target=contextvars.copy_context().run, args=(follow,), name="synthgen-train-progress"
    )
    thread.daemon = True
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)


@contextmanager
def _own_sigint() -> Iterator[None]:
    """Ray Train puts its own Ctrl-C handler in (to abort the workers) and leaves it there:
    the handler that was before (synthgen's: stop the run cleanly) is put back after."""
    main = threading.current_thread() is threading.main_thread()
    before = signal.getsignal(signal.SIGINT) if main else None
    try:
        yield
    finally:
        if main:
            signal.signal(signal.SIGINT, before if before is not None else signal.SIG_DFL)


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"


def _worker_error(err: Exception) -> Exception:
    """The synthgen error a worker raised (its message and exit code), else ``err``."""
    failures = getattr(err, "worker_failures", None) or {}
    for failure in [*failures.values(), getattr(err, "controller_failure", None)]:
        seen = failure
        while seen is not None:
            if isinstance(seen, SynthgenError):
                return seen
            seen = getattr(seen, "cause", None) or seen.__cause__
    return err
