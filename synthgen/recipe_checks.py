"""Recipe checks that need more than the recipe's pydantic model: the generator's own params
and each text column's backend params, validated when the recipe is read (not after a fit),
every problem as 'dotted.path: message'."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from synthgen.errors import RecipeError


def check_generator(gen: dict[str, Any]) -> list[str]:
    from synthgen.generators import registry
    from synthgen.recipe import GeneratorSpec, format_validation_error

    name = gen.get("name", GeneratorSpec().name)
    if not isinstance(name, str):
        return []  # pydantic already reported it
    try:
        cls = registry.get_class(name)
    except RecipeError as err:
        return [f"generator.name: {err.message}"]
    except Exception as err:  # a missing extra is fine at load time; reported at fit
        del err
        return []
    params = gen.get("params") or {}
    if not isinstance(params, dict):
        return []
    try:
        cls.Params.model_validate(params)
    except ValidationError as err:
        return format_validation_error(err, prefix="generator.params")
    return []


def check_text_params(text: Any) -> list[str]:
    """Each text column's backend params against the backend's own model, now rather than
    after the tabular fit (and with any credential in them masked in the messages)."""
    from synthgen.errors import MissingExtraError, UsageError
    from synthgen.recipe import format_validation_error
    from synthgen.text.base import backend_class

    if not isinstance(text, dict):
        return []
    problems: list[str] = []
    for col, spec in text.items():
        if not isinstance(spec, dict):
            continue  # pydantic reports it
        name, params = spec.get("backend", "local"), spec.get("params") or {}
        if not isinstance(name, str) or not isinstance(params, dict):
            continue
        try:
            model = getattr(backend_class(name), "Params", None)
        except MissingExtraError:
            continue  # reported when the column is fitted, naming what to install
        except UsageError as err:
            problems.append(f"text.{col}.backend: {err.message}")
            continue
        if model is None:
            continue
        try:
            model.model_validate(params)
        except ValidationError as err:
            problems.extend(format_validation_error(err, prefix=f"text.{col}.params"))
    return problems
