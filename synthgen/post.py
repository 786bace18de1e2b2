"""After the model: what happens to sampled rows, the same for `synthgen run` and
`synthgen sample`, and the settings a run leaves in its model folder for `sample`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from synthgen import logs
from synthgen.generators.shards import SHARD_ROWS
from synthgen.pii.pseudonym import Pseudonymiser
from synthgen.pii.stage import apply_pii_strategies, pseudonym_for
from synthgen.recipe import PiiSpec
from synthgen.schema import Schema

SAMPLE_CHUNK_ROWS = SHARD_ROWS  # rows drawn, finished and written at a time by `sample`
KEYS_FILE = "pseudonyms.json"  # a model folder's pools of pseudonymised keys (never the keys)


class RunSettings(BaseModel):
    """run.json in a model folder: what `synthgen sample` needs from the run that saved it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    pii: PiiSpec
    recipe: str = Field(max_length=200)
    seed: int = Field(ge=0, le=2**32 - 1)


def load_run_settings(model_dir: Path) -> RunSettings | None:
    """The model folder's run.json, checked (a pickle or a damaged file is a UsageError
    naming it); None when there is none (a model saved from the Python API)."""
    from synthgen.errors import pydantic_problems
    from synthgen.generators.folder import damaged
    from synthgen.io.jsonfile import BadJson, MiB, read_json

    p = Path(model_dir) / "run.json"
    if not p.exists():
        return None
    try:
        return RunSettings.model_validate(read_json(p, max_bytes=16 * MiB))
    except BadJson as err:
        raise damaged(Path(model_dir), [f"run.json: {err.reason}"]) from None
    except ValidationError as err:
        problems = [f"run.json: {x}" for x in pydantic_problems(err)]
        raise damaged(Path(model_dir), problems) from None


class KeyPool(BaseModel):
    """A ``pii.consistent`` column as the model folder keeps it: the pseudonyms of the
    training keys with how often each key occurs, and the share of missing keys. The keys
    themselves are never stored; each pseudonym is what the synthetic table shows anyway."""

    model_config = ConfigDict(extra="forbid", strict=True)

    values: list[str]
    counts: list[int] = Field(description="rows per key in the training table")
    null_fraction: float = Field(ge=0.0, le=1.0)

    @classmethod
    def of(
        cls, real: pd.Series, spec_kind: str, pii_type: str | None, pseudo: Pseudonymiser
    ) -> KeyPool:
        counts = real.dropna().value_counts(sort=False)
        exclude = set(real.dropna().astype(str))
        fakes = [pseudonym_for(pseudo, spec_kind, pii_type, v, exclude) for v in counts.index]
        return cls(
            values=[str(f) for f in fakes],
            counts=[int(c) for c in counts.to_numpy()],
            null_fraction=float(real.isna().mean()) if len(real) else 0.0,
        )

    def draw(self, seed: int, column: int, start: int, n: int) -> pd.Series:
        """Rows ``start .. start + n`` of the column: each row's draw depends on (seed,
        column, row number) only, so chunking never changes the output."""
        bits = np.random.PCG64([seed, 4099, column])
        bits.advance(2 * start)  # two doubles per row
        u = np.random.Generator(bits).random((n, 2))
        out = pd.Series([None] * n, dtype=object)
        if self.values:
            cum = np.cumsum(np.asarray(self.counts, dtype=float))
            pick = np.searchsorted(cum / cum[-1], u[:, 0], side="right").clip(0, len(cum) - 1)
            out[:] = np.asarray(self.values, dtype=object)[pick]
        return out.where(u[:, 1] >= self.null_fraction, None)


class KeyPools(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    format: int = 1
    columns: dict[str, KeyPool]


def save_key_pools(folder: Path, pools: Mapping[str, KeyPool]) -> None:
    if pools:
        text = KeyPools(columns=dict(pools)).model_dump_json()
        (Path(folder) / KEYS_FILE).write_text(text, encoding="utf-8")


def load_key_pools(model_dir: Path) -> dict[str, KeyPool]:
    """The model folder's pseudonym pools (checked like run.json); empty when it has none."""
    from synthgen.errors import pydantic_problems
    from synthgen.generators.folder import damaged
    from synthgen.io.jsonfile import BadJson, MiB, read_json

    p = Path(model_dir) / KEYS_FILE
    if not p.exists():
        return {}
    try:
        return dict(KeyPools.model_validate(read_json(p, max_bytes=1024 * MiB)).columns)
    except BadJson as err:
        raise damaged(Path(model_dir), [f"{KEYS_FILE}: {err.reason}"]) from None
    except ValidationError as err:
        problems = [f"{KEYS_FILE}: {x}" for x in pydantic_problems(err)]
        raise damaged(Path(model_dir), problems) from None


def chunk_seed(seed: int, start: int) -> int:
    """The seed of the rows from ``start`` on: ``seed`` itself for the first chunk."""
    if start == 0:
        return seed
    return int(np.random.SeedSequence([seed, start]).generate_state(1)[0])


class PostSampling:
    """Sampled rows -> finished rows, chunk by chunk: text columns written (and guarded),
    PII strategies applied (``null`` / ``drop``), ``pii.consistent`` columns given
    pseudonyms. `run` and `sample` both use it, so the same model and seed give the same
    table from either; a chunk's result depends on its rows' numbers, not on its size."""

    def __init__(
        self,
        schema: Schema,
        pii: PiiSpec,
        texts: Mapping[str, Any] | None = None,
        pools: Mapping[str, KeyPool] | None = None,
        blank: Sequence[str] = (),
    ) -> None:
        self.schema, self.pii = schema, pii
        self.texts = dict(texts or {})
        self.pools = dict(pools or {})
        self.blank = list(blank)
        self.text_stats: dict[str, dict[str, Any]] = {}

    def apply(self, chunk: pd.DataFrame, seed: int) -> pd.DataFrame:
        start = int(chunk.index[0]) if len(chunk) else 0
        out = chunk.copy()
        base = chunk_seed(seed, start)
        for i, (col, model) in enumerate(self.texts.items()):
            if col in out.columns:
                texts, stats = model.generate(out, seed=base + 104729 * (i + 1))
                out[col] = texts.to_numpy()
                self._count(col, stats)
        for col in self.blank:
            out[col] = None
        out = apply_pii_strategies(out, self.schema, self.pii)
        for i, col in enumerate(self.pii.consistent):
            if col in out.columns and col in self.pools:
                drawn = self.pools[col].draw(seed, i, start, len(out))
                out[col] = drawn.set_axis(out.index).to_numpy()
        return out

    def apply_all(self, rows: pd.DataFrame, seed: int) -> pd.DataFrame:
        """All rows at once, finished chunk by chunk exactly as `sample` streams them."""
        if len(rows) <= SAMPLE_CHUNK_ROWS:
            return self.apply(rows, seed)
        step = SAMPLE_CHUNK_ROWS
        return pd.concat(
            [self.apply(rows.iloc[i : i + step], seed) for i in range(0, len(rows), step)]
        )

    def _count(self, col: str, stats: dict[str, Any]) -> None:
        total = self.text_stats.setdefault(col, {})
        for k, v in stats.items():
            if isinstance(v, dict):
                sub = total.setdefault(k, {})
                for kk, vv in v.items():
                    sub[kk] = sub.get(kk, 0) + vv
            else:
                total[k] = total.get(k, 0) + v


def sample_model(
    model_dir: Path,
    n: int,
    out: str | Path,
    *,
    seed: int = 0,
    conditions: dict[str, Any] | None = None,
    remote: Any = None,
    no_text: bool = False,
    say: Callable[[str], None] = logs.say,
) -> int:
    """`synthgen sample`: ``n`` rows of a saved model folder, through the run's own
    post-sampling path (PII strategies, pseudonymised keys, texts), into ``out`` (a CSV or
    Parquet file, or ``-`` for CSV on standard output), shard by shard (the shards of
    ``scale.sampler.ShardSampler``, as a dataset folder or Ray writes them); returns the rows."""
    from synthgen.generators.memory import check_disk
    from synthgen.io import write_table_chunks
    from synthgen.io.sources import infer_format
    from synthgen.progress import chunk_progress
    from synthgen.scale.sampler import ShardSampler

    to_stdout = str(out) == "-"
    fmt = "csv" if to_stdout else infer_format(Path(out), None, "output")
    job = ShardSampler(
        model_dir, n, seed=seed, conditions=conditions, remote=remote, no_text=no_text
    )
    if not to_stdout:
        check_disk(n, job.gen.schema_, Path(out).parent)
    for column in job.texts:
        say(f"writing text column '{column}'")
    logs.LOGGER.debug(
        "model: generator %s, %d columns; %d shard(s) of up to %d rows, seed %d",
        job.gen.name,
        len(job.gen.schema_.columns),
        -(-n // SHARD_ROWS),
        SHARD_ROWS,
        seed,
    )
    starts = chunk_progress(range(0, n, SHARD_ROWS), n, SHARD_ROWS, True)
    return write_table_chunks((job.rows(s // SHARD_ROWS) for s in starts), out, fmt)
