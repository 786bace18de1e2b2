"""Sequences: per-entity event streams learnt with their lengths, gaps and memory."""

from synthgen.sequences.model import SequenceModel

__all__ = ["SequenceModel"]
