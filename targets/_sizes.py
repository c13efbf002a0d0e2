"""Parse and format memory sizes ("64KiB", "1.5 MB", 4096)."""

import re
from decimal import Decimal

from targets._errors import InvalidSizeError

__all__ = ["parse_size", "format_size"]

# Decimal and binary prefixes both occur in this field: the papers' budgets
# are in decimal KB (2955.80 KB = 2,955,800 B) while datasheets mean KiB.
_UNITS = {
    "": 1, "b": 1,
    "kb": 1000, "kib": 1024, "k": 1024,
    "mb": 1000**2, "mib": 1024**2, "m": 1024**2,
}
# A Cortex-M addresses 4 GiB in all; a larger size is a typo, and beyond 2**53 a float would lose its digits.
MAX_SIZE = 2**32
_SIZE_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([a-zA-Z]*)\s*$")


def parse_size(value: "str | int | float", *, what: str = "size") -> int:
    """Return a size in bytes from an int or a string with a unit.

    Parameters
    ----------
    value : str, int or float
        Bytes, or a number followed by B, KB (1000), KiB (1024), MB or MiB.
        A bare ``K``/``M`` is read as KiB/MiB, as in datasheets.
    what : str
        Name of the quantity, used in the error message.

    Returns
    -------
    int
        Size in bytes (rounded down to a whole byte).

    Raises
    ------
    InvalidSizeError
        If the value is negative, not a number, or has an unknown unit.
    """
    if isinstance(value, bool):
        raise InvalidSizeError(f"{what} must be a number of bytes or a string like '64KiB', got {value!r}.")
    if isinstance(value, (int, float)):
        if value < 0:
            raise InvalidSizeError(f"{what} must not be negative, got {value!r}.")
        return _within_address_space(int(value), value, what)
    text = str(value).replace("_", "").replace(",", "")
    if text.strip().startswith("-"):
        raise InvalidSizeError(f"{what} must not be negative, got {value!r}.")
    match = _SIZE_RE.match(text)
    if not match or match.group(2).lower() not in _UNITS:
        raise InvalidSizeError(
            f"{what} {value!r} is not a size; write a number with an optional unit "
            "B, KB, KiB, MB or MiB, e.g. '64KiB'."
        )
    return _within_address_space(int(Decimal(match.group(1)) * _UNITS[match.group(2).lower()]), value, what)


def _within_address_space(n_bytes: int, value, what: str) -> int:
    if n_bytes > MAX_SIZE:
        raise InvalidSizeError(f"{what} {value!r} is more than a 32-bit microcontroller can address (4 GiB); "
                               "check the number and its unit.")
    return n_bytes


def format_size(n_bytes: int) -> str:
    """Format bytes for tables: '2,955,800 B' below 10 KiB-ish, else with KiB."""
    if abs(n_bytes) < 10 * 1024:
        return f"{n_bytes:,} B"
    return f"{n_bytes:,} B ({n_bytes / 1024:.2f} KiB)"
