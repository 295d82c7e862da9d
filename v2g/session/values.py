"""Numbers on the wire: PhysicalValueType (DIN, -2: Value x 10^Multiplier, Value a 16-bit
integer, Multiplier -3..3) and RationalNumberType (-20: Value x 10^Exponent)."""

from __future__ import annotations

import math
from typing import Any

INT16 = range(-32768, 32768)


def scaled(value: float, lo: int = -3, hi: int = 3) -> tuple[int, int]:
    """(mantissa, exponent) with the mantissa in 16 bits and as many digits as fit."""
    if not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    for exponent in range(lo, hi + 1):
        mantissa = round(value / 10**exponent)
        if mantissa in INT16:  # the smallest exponent that fits keeps the most digits
            return mantissa, exponent
    raise ValueError(f"{value!r} does not fit a 16-bit value with an exponent of at most {hi}")


def physical(module: Any, value: float, unit: str | None) -> Any:
    """A PhysicalValueType of ``module`` (din or iso2); ``unit`` None leaves DIN's Unit out."""
    mantissa, exponent = scaled(value)
    return module.PhysicalValueType(Multiplier=exponent, Unit=unit, Value=mantissa)


def rational(module: Any, value: float) -> Any:
    """A RationalNumberType of an ISO 15118-20 module."""
    mantissa, exponent = scaled(value, -3, 127)
    return module.RationalNumberType(Exponent=exponent, Value=mantissa)


def number(value: Any) -> float:
    """The value of a PhysicalValueType or RationalNumberType (0.0 for None)."""
    if value is None:
        return 0.0
    exponent = getattr(value, "Multiplier", None)
    if exponent is None:
        exponent = getattr(value, "Exponent", 0) or 0
    return float((value.Value or 0) * 10.0**exponent)
