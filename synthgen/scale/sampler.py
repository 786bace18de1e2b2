"""One shard of a saved model, finished as `synthgen sample` finishes its chunks."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd

from synthgen.generators.shards import SHARD_ROWS, sample_shard


class ShardSampler:
    """A model folder loaded once (JSON + safetensors: no code runs), ready to give the
    finished rows of any shard of an ``n``-row sample: model rows, the run's rules, PII
    strategies, pseudonymised keys and texts, exactly as `synthgen sample` writes them."""

    def __init__(
        self,
        model_dir: Path,
        n: int,
        *,
        seed: int = 0,
        conditions: dict[str, Any] | None = None,
        remote: Any = None,
        no_text: bool = False,
        shard_rows: int = SHARD_ROWS,
    ) -> None:
        from synthgen.constraints.stage import SampleRules
        from synthgen.generators import Generator
        from synthgen.post import PostSampling, load_key_pools, load_run_settings
        from synthgen.recipe import PiiSpec
        from synthgen.text.synth import load_text_models

        self.gen = Generator.load(model_dir)
        self.n, self.seed, self.shard_rows = int(n), int(seed), int(shard_rows)
        self.texts = {} if no_text else load_text_models(model_dir, self.gen.schema_, remote)
        settings = load_run_settings(model_dir)
        self.pii = settings.pii if settings is not None else PiiSpec()
        blank = [c.name for c in self.gen.schema_.of_kind("text")] if no_text else []
        self.post = PostSampling(
            self.gen.schema_, self.pii, self.texts, load_key_pools(model_dir), blank=blank
        )
        self.rules = SampleRules(model_dir, conditions or None)

    def rows(self, k: int) -> pd.DataFrame:
        """Shard ``k``'s finished rows (indexed by row number)."""
        body = sample_shard(
            self.gen,
            self.n,
            k,
            seed=self.seed,
            shard_rows=self.shard_rows,
            conditions=self.rules.model_where,
            locale=self.pii.locale,
        )
        done = self.rules.finish(
            self.gen, iter([body]), lambda df: self.post.apply(df, self.seed), self.seed,
            self.pii.locale,
        )  # fmt: skip
        return next(iter(done))

    def part(self, k: int) -> tuple[int, int, bytes]:
        """(k, rows, the Parquet file of shard ``k`` as bytes)."""
        df = self.rows(k)
        return k, len(df), parquet_bytes(df)


def parquet_bytes(df: pd.DataFrame) -> bytes:
    """``df`` as a Parquet file, the same bytes for the same rows wherever it is written.
    A text column that is all missing here is typed as text, as in every other part."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    schema = table.schema
    for i, field in enumerate(schema):
        if pa.types.is_null(field.type) and df[field.name].dtype == object:
            schema = schema.set(i, field.with_type(pa.string()))
    buf = io.BytesIO()
    pq.write_table(table.cast(schema), buf)
    return buf.getvalue()
