"""Column kinds, detection and PII discovery."""

from synthgen.schema.detect import detect
from synthgen.schema.overrides import apply_overrides
from synthgen.schema.spec import KINDS, PII_TYPES, ColumnSpec, Schema

__all__ = ["KINDS", "PII_TYPES", "ColumnSpec", "Schema", "apply_overrides", "detect"]
