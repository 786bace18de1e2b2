"""Column transforms: frames to and from a model's form (frame.py), the side columns no model
learns (side.py), and the neural generators' encoders; their state is plain JSON."""

from synthgen.transforms.continuous import VGM1D, ContinuousEncoder
from synthgen.transforms.discrete import DiscreteEncoder
from synthgen.transforms.table import Span, TableEncoder

__all__ = ["VGM1D", "ContinuousEncoder", "DiscreteEncoder", "Span", "TableEncoder"]
