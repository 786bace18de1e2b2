"""After the model: what happens to sampled rows, the same for `synthgen run` and
`synthgen sample`, and the settings a run leaves in its model folder for `sample`."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from synthgen.recipe import PiiSpec


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
