"""SDV's synthesizers as optional engines (the `sdv` extra): our benchmark baseline.

SDV saves models as Python pickles, which synthgen never loads, so these engines fit and sample
in one run; their model folder holds the config and schema but no weights, and loading one
says so. SDV is imported only when an engine is used.
"""

from __future__ import annotations

import importlib
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from synthgen.errors import MissingExtraError, UsageError
from synthgen.generators.base import Generator
from synthgen.generators.seeding import seeded
from synthgen.schema.spec import Schema


def _sdv_single_table() -> Any:
    try:
        return importlib.import_module("sdv.single_table"), importlib.import_module("sdv.metadata")
    except ImportError:
        raise MissingExtraError("SDV engines", "sdv", "sdv") from None


class _SDVCommon(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enforce_min_max_values: bool = True
    enforce_rounding: bool = True


class _SDVNeural(_SDVCommon):
    epochs: int = Field(300, gt=0)
    batch_size: int = Field(500, gt=0)
    embedding_dim: int = Field(128, gt=0)


class SDVCTGANParams(_SDVNeural):
    generator_dim: tuple[int, ...] = (256, 256)
    discriminator_dim: tuple[int, ...] = (256, 256)
    generator_lr: float = Field(2e-4, gt=0)
    discriminator_lr: float = Field(2e-4, gt=0)
    pac: int = Field(10, gt=0)


class SDVTVAEParams(_SDVNeural):
    compress_dims: tuple[int, ...] = (128, 128)
    decompress_dims: tuple[int, ...] = (128, 128)


class _SDVEngine(Generator):
    sdv_class: ClassVar[str] = ""

    def _fit(self, data: pd.DataFrame, schema: Schema, rng: np.random.Generator) -> None:
        single, meta = _sdv_single_table()
        columns = {
            c: {
                "sdtype": "numerical"
                if schema[c].kind in ("numeric", "integer", "datetime")
                else "categorical"
            }
            for c in data.columns
        }
        metadata = meta.Metadata.load_from_dict({"tables": {"table": {"columns": columns}}})
        kwargs = self.params.model_dump()
        if "epochs" in kwargs:
            kwargs["enable_gpu"] = False
        self.model_ = getattr(single, self.sdv_class)(metadata, **kwargs)
        frame = data.copy()
        for c in frame.columns:
            if columns[c]["sdtype"] == "categorical":
                frame[c] = frame[c].astype(object)
        self._dtypes = {c: frame[c].dtype for c in frame.columns}
        with seeded(int(rng.integers(2**31))):
            self.model_.fit({"table": frame})

    def _sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        self.model_._set_random_state(int(rng.integers(2**31)))
        out = self.model_.sample(n)
        return out["table"] if isinstance(out, dict) else out

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"weights": None, "note": "SDV models are pickles; synthgen does not save them"}, {}

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        raise UsageError(
            f"a '{self.name}' model cannot be loaded: SDV models are pickles, which synthgen "
            "never loads (loading a pickle runs code)",
            hint="re-run the recipe to sample again, or use a synthgen generator (copula)",
        )


class SDVGaussianCopula(_SDVEngine):
    name = "sdv.gaussian_copula"
    sdv_class = "GaussianCopulaSynthesizer"
    Params = _SDVCommon


class SDVCTGAN(_SDVEngine):
    name = "sdv.ctgan"
    sdv_class = "CTGANSynthesizer"
    Params = SDVCTGANParams


class SDVTVAE(_SDVEngine):
    name = "sdv.tvae"
    sdv_class = "TVAESynthesizer"
    Params = SDVTVAEParams
