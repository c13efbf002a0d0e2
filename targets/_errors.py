"""The error base shared by every AutoTinyML package.

It lives in the lowest layer (targets) so memsim, cbo and validation can all
derive from it without importing each other.
"""

import warnings

__all__ = ["AutoTinyMLError", "UnknownTargetError", "InvalidSizeError", "TargetFileError", "warn"]


class AutoTinyMLError(Exception):
    """Base class of every error AutoTinyML raises on purpose.

    Messages are one sentence: what is wrong, what was expected, what was given.
    """


class UnknownTargetError(AutoTinyMLError, KeyError):
    """A target name that is neither in the catalogue nor an alias."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InvalidSizeError(AutoTinyMLError, ValueError):
    """A memory size that cannot be parsed or is negative."""


class TargetFileError(AutoTinyMLError, ValueError):
    """A target TOML file that is missing, unreadable or malformed."""


def warn(message: str, stacklevel: int = 2) -> None:
    """Issue a user warning pointing at the caller's caller."""
    warnings.warn(message, UserWarning, stacklevel=stacklevel + 1)
