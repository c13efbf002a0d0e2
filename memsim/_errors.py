"""memsim's errors; all derive from the shared AutoTinyMLError."""

from targets import AutoTinyMLError

__all__ = ["AutoTinyMLError", "MemsimError", "UnsupportedLayerError", "ShapeError", "ModelFileError", "SpecError"]


class MemsimError(AutoTinyMLError):
    """Base class of memsim's errors."""


class UnsupportedLayerError(MemsimError, ValueError):
    """A layer type (or layer option) memsim has no rules for."""


class ShapeError(MemsimError, ValueError):
    """Shapes that do not fit together (wrong rank, negative size, mismatch)."""


class SpecError(MemsimError, ValueError):
    """A malformed architecture description."""


class ModelFileError(MemsimError, ValueError):
    """A model file that is missing, truncated or not the format its name says."""
