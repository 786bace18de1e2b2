"""Text synthesis for free-text columns: one backend protocol, several backends."""

from synthgen.text.base import TextBackend

__all__ = ["TextBackend"]
