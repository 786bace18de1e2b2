"""Column encoders for the neural generators; their state is plain JSON."""

from synthgen.transforms.continuous import VGM1D, ContinuousEncoder
from synthgen.transforms.discrete import DiscreteEncoder
from synthgen.transforms.table import Span, TableEncoder

__all__ = ["VGM1D", "ContinuousEncoder", "DiscreteEncoder", "Span", "TableEncoder"]
