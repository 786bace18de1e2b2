"""Synthesis of a whole dataset: every table, its keys fresh, its relations learnt."""

from synthgen.relational.model import RelationalSynthesizer
from synthgen.relational.plan import Plan, make_plan

__all__ = ["Plan", "RelationalSynthesizer", "make_plan"]
