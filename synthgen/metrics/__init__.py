"""Metrics, each declaring its group, direction and range; importing registers them."""

from synthgen.metrics import expectations, fidelity, privacy, utility
from synthgen.metrics.base import REGISTRY, Context, Metric, Result

__all__ = ["REGISTRY", "Context", "Metric", "Result", "expectations", "fidelity", "privacy", "utility"]
