"""cbo's errors, derived from the shared base."""

from targets import AutoTinyMLError

__all__ = ["CBOError", "SpaceError", "StorageError", "DatasetError"]


class CBOError(AutoTinyMLError):
    """Base class of the optimiser's errors."""


class SpaceError(CBOError, ValueError):
    """A search space that is malformed (empty choices, low > high, unknown type or name)."""


class StorageError(CBOError, RuntimeError):
    """A study database that cannot be opened, or that belongs to another search."""


class DatasetError(CBOError, ValueError):
    """A dataset that cannot be loaded or has the wrong shape."""
