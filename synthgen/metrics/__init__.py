"""Metrics, each declaring its group, direction and range; importing registers them."""

from synthgen.metrics import (
    anonymity,
    constraints,
    entities,
    expectations,
    fidelity,
    pii,
    privacy,
    relational,
    sequence_privacy,
    sequential,
    singling,
    structure,
    text,
    textcond,
    textprivacy,
    utility,
)
from synthgen.metrics.base import REGISTRY, Context, Metric, Result

__all__ = [
    "REGISTRY",
    "Context",
    "Metric",
    "Result",
    "anonymity",
    "constraints",
    "entities",
    "expectations",
    "fidelity",
    "pii",
    "privacy",
    "relational",
    "sequence_privacy",
    "sequential",
    "singling",
    "structure",
    "text",
    "textcond",
    "textprivacy",
    "utility",
]
