"""Typed values (EXI 1.0 §7): reading and writing each datatype, and the lexical form of a value.

Python types of values: strings and enumerations ``str``, booleans ``bool``, integers ``int``,
hexBinary and base64Binary ``bytes``, decimal and float ``decimal.Decimal`` (exact, as EXI carries
them), date/time types their lexical ``str``, lists ``list``. The lexical forms are those EXIficient
prints (hexBinary upper case, base64 without line breaks, decimals with a fraction digit, floats as
``mantissaEexponent``).
"""

from __future__ import annotations

import base64
import binascii
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from v2g.errors import EXIDecodeError, EXIEncodeError
from v2g.exi import datatype as D
from v2g.exi.bits import BitReader, BitWriter, coding_length

FLOAT_SPECIAL = -(1 << 14)  # §7.1.4: exponent marking INF, -INF and NaN
FLOAT_EXP_LIMIT = (1 << 14) - 1
FLOAT_MANTISSA_LIMIT = 1 << 63


# -- reading ------------------------------------------------------------------------------------
def read_string(r: BitReader) -> str:
    """A string value (§7.1.10): length + 2, then the characters; there is no value table."""
    start = r.pos
    n = r.read_unsigned()
    if n < 2:
        raise EXIDecodeError(
            "string value table reference, but the V2G options have no value string table", bit_offset=start
        )
    n -= 2
    if n * 8 > r.remaining:
        raise EXIDecodeError(f"string length {n} exceeds the {r.remaining} bits left", bit_offset=start)
    return r.read_chars(n)


def read_value(r: BitReader, dt: D.Datatype) -> Any:
    """One value of datatype ``dt``."""
    k = dt.kind
    if k == D.K_STRING:
        return read_string(r)
    if k == D.K_NBIT:
        # EXIficient and OpenV2G take the n bits as they come, also above the upper bound
        return r.read(coding_length(dt.hi - dt.lo + 1)) + dt.lo
    if k == D.K_ENUM:
        start = r.pos
        i = r.read(coding_length(len(dt.values)))
        if i >= len(dt.values):
            raise EXIDecodeError(f"enumeration index {i} of {len(dt.values)} values", bit_offset=start)
        return dt.values[i]
    if k == D.K_UNSIGNED:
        return r.read_unsigned()
    if k == D.K_INTEGER:
        return r.read_integer()
    if k == D.K_BOOLEAN:
        return r.read_bool()
    if k == D.K_BOOLEAN_PATTERN:
        return r.read(2) >= 2
    if k in (D.K_HEX, D.K_BASE64):
        return r.read_bytes(r.read_length(8, "binary"))
    if k == D.K_LIST:
        assert dt.item is not None
        n = r.read_length(1, "list")
        return [read_value(r, dt.item) for _ in range(n)]
    if k == D.K_DECIMAL:
        negative = r.read_bool()
        integral = r.read_unsigned()
        frac = r.read_unsigned()
        return Decimal(("-" if negative else "") + str(integral) + "." + str(frac)[::-1])
    if k == D.K_FLOAT:
        start = r.pos
        mantissa = r.read_integer()
        exponent = r.read_integer()
        if exponent == FLOAT_SPECIAL:
            return Decimal("Infinity" if mantissa == 1 else "-Infinity" if mantissa == -1 else "NaN")
        if abs(exponent) > FLOAT_EXP_LIMIT or not -FLOAT_MANTISSA_LIMIT <= mantissa < FLOAT_MANTISSA_LIMIT:
            raise EXIDecodeError("float out of range", bit_offset=start)
        return Decimal(f"{mantissa}E{exponent}")
    if k == D.K_DATETIME:
        return _read_datetime(r, dt.variant)
    if k == D.K_RCS:
        return _read_rcs(r, dt)
    raise EXIDecodeError(f"unsupported datatype {dt.describe()}", bit_offset=r.pos)


def _read_rcs(r: BitReader, dt: D.Datatype) -> str:
    start = r.pos
    n = r.read_unsigned()
    if n < 2:
        raise EXIDecodeError("string value table reference", bit_offset=start)
    n -= 2
    if n > r.remaining:
        raise EXIDecodeError(f"string length {n} exceeds the bits left", bit_offset=start)
    width = coding_length(len(dt.chars) + 1)
    out = []
    for _ in range(n):
        code = r.read(width)
        if code < len(dt.chars):
            out.append(chr(dt.chars[code]))
        else:
            out.append(r.read_chars(1))
    return "".join(out)


def _read_datetime(r: BitReader, variant: str) -> str:
    year = month_day = time = 0
    frac = ""
    if variant in ("gYear", "gYearMonth", "date", "dateTime"):
        year = r.read_integer() + 2000
    if variant in ("gYearMonth", "date", "dateTime", "gMonth", "gMonthDay", "gDay"):
        month_day = r.read(9)
    if variant in ("dateTime", "time"):
        time = r.read(17)
        if r.read_bool():
            frac = str(r.read_unsigned())[::-1]
    tz = r.read(11) - 896 if r.read_bool() else None
    return format_datetime(variant, year, month_day, time, frac=frac, tz=tz)


def format_datetime(variant: str, year: int, month_day: int, time: int, *, frac: str, tz: int | None) -> str:
    month, day = month_day >> 5, month_day & 31
    hh, mm, ss = time >> 12, (time >> 6) & 63, time & 63
    y = ("-" if year < 0 else "") + f"{abs(year):04d}"
    parts = {
        "gYear": y,
        "gYearMonth": f"{y}-{month:02d}",
        "date": f"{y}-{month:02d}-{day:02d}",
        "dateTime": f"{y}-{month:02d}-{day:02d}T{hh:02d}:{mm:02d}:{ss:02d}" + (f".{frac}" if frac else ""),
        "time": f"{hh:02d}:{mm:02d}:{ss:02d}" + (f".{frac}" if frac else ""),
        "gMonth": f"--{month:02d}",
        "gMonthDay": f"--{month:02d}-{day:02d}",
        "gDay": f"---{day:02d}",
    }
    text = parts[variant]
    if tz is not None:
        if tz == 0:
            text += "Z"
        else:
            sign = "-" if tz < 0 else "+"
            text += f"{sign}{abs(tz) // 64:02d}:{abs(tz) % 64:02d}"
    return text


# -- writing ------------------------------------------------------------------------------------
def write_string(w: BitWriter, text: str) -> None:
    w.write_unsigned(len(text) + 2)
    w.write_chars(text)


def write_value(w: BitWriter, dt: D.Datatype, value: Any) -> None:
    """``value`` (already of the Python type of ``dt``, see :func:`check_value`) as datatype ``dt``."""
    k = dt.kind
    if k == D.K_STRING:
        write_string(w, value)
    elif k == D.K_NBIT:
        w.write(value - dt.lo, coding_length(dt.hi - dt.lo + 1))
    elif k == D.K_ENUM:
        w.write(dt.values.index(value), coding_length(len(dt.values)))
    elif k == D.K_UNSIGNED:
        w.write_unsigned(value)
    elif k == D.K_INTEGER:
        w.write_integer(value)
    elif k == D.K_BOOLEAN:
        w.write_bool(value)
    elif k == D.K_BOOLEAN_PATTERN:
        w.write(2 if value else 0, 2)
    elif k in (D.K_HEX, D.K_BASE64):
        w.write_unsigned(len(value))
        w.write_bytes(value)
    elif k == D.K_LIST:
        assert dt.item is not None
        w.write_unsigned(len(value))
        for item in value:
            write_value(w, dt.item, item)
    elif k == D.K_DECIMAL:
        sign, integral, frac = _decimal_parts(value)
        w.write_bool(sign)
        w.write_unsigned(integral)
        w.write_unsigned(frac)
    elif k == D.K_FLOAT:
        mantissa, exponent = _float_parts(value)
        w.write_integer(mantissa)
        w.write_integer(exponent)
    elif k == D.K_DATETIME:
        _write_datetime(w, dt.variant, value)
    elif k == D.K_RCS:
        w.write_unsigned(len(value) + 2)
        width = coding_length(len(dt.chars) + 1)
        for ch in value:
            cp = ord(ch)
            if cp in dt.chars:
                w.write(dt.chars.index(cp), width)
            else:
                w.write(len(dt.chars), width)
                w.write_unsigned(cp)
    else:  # pragma: no cover - the generator emits only the kinds above
        raise EXIEncodeError(f"unsupported datatype {dt.describe()}")


def _decimal_parts(value: Decimal) -> tuple[bool, int, int]:
    sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        raise EXIEncodeError(f"decimal {value} is not finite")
    text = "".join(map(str, digits))
    if exponent >= 0:
        integral, frac = text + "0" * exponent, ""
    else:
        cut = len(text) + exponent
        integral = text[:cut] if cut > 0 else "0"
        frac = ("0" * -cut if cut < 0 else "") + text[max(cut, 0) :]
    return bool(sign), int(integral), int(frac[::-1] or "0")


def _float_parts(value: Decimal) -> tuple[int, int]:
    if value.is_nan():
        return 0, FLOAT_SPECIAL
    if value.is_infinite():
        return (-1 if value < 0 else 1), FLOAT_SPECIAL
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    mantissa = int("".join(map(str, digits)) or "0")
    if sign:
        mantissa = -mantissa
    if abs(exponent) > FLOAT_EXP_LIMIT or not -FLOAT_MANTISSA_LIMIT <= mantissa < FLOAT_MANTISSA_LIMIT:
        raise EXIEncodeError(f"float {value} out of the EXI float range")
    return mantissa, exponent


_DT_RE = re.compile(
    r"^(?P<year>-?\d{4,})?(?:-(?P<month>\d\d))?(?:-(?P<day>\d\d))?"
    r"(?:T?(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)(?:\.(?P<frac>\d+))?)?(?P<tz>Z|[+-]\d\d:\d\d)?$"
)


def _parse_datetime(variant: str, text: str) -> tuple[int, int, int, str, int | None]:
    t = text.strip()
    if variant == "gMonth":
        m = re.match(r"^--(\d\d)(Z|[+-]\d\d:\d\d)?$", t)
        parts = {"month": m.group(1), "tz": m.group(2)} if m else None
    elif variant == "gMonthDay":
        m = re.match(r"^--(\d\d)-(\d\d)(Z|[+-]\d\d:\d\d)?$", t)
        parts = {"month": m.group(1), "day": m.group(2), "tz": m.group(3)} if m else None
    elif variant == "gDay":
        m = re.match(r"^---(\d\d)(Z|[+-]\d\d:\d\d)?$", t)
        parts = {"day": m.group(1), "tz": m.group(2)} if m else None
    else:
        m = _DT_RE.match(t)
        parts = m.groupdict() if m else None
    if parts is None:
        raise ValueError(f"not a {variant}: {text!r}")
    year = int(parts.get("year") or 0)
    month = int(parts.get("month") or 0)
    day = int(parts.get("day") or 0)
    time = (int(parts.get("h") or 0) << 12) | (int(parts.get("m") or 0) << 6) | int(parts.get("s") or 0)
    frac = parts.get("frac") or ""
    tzs = parts.get("tz")
    tz: int | None = None
    if tzs:
        if tzs == "Z":
            tz = 0
        else:
            tz = int(tzs[1:3]) * 64 + int(tzs[4:6])
            if tzs[0] == "-":
                tz = -tz
    return year, (month << 5) | day, time, frac, tz


def _write_datetime(w: BitWriter, variant: str, text: str) -> None:
    year, month_day, time, frac, tz = _parse_datetime(variant, text)
    if variant in ("gYear", "gYearMonth", "date", "dateTime"):
        w.write_integer(year - 2000)
    if variant in ("gYearMonth", "date", "dateTime", "gMonth", "gMonthDay", "gDay"):
        w.write(month_day, 9)
    if variant in ("dateTime", "time"):
        w.write(time, 17)
        w.write_bool(bool(frac))
        if frac:
            w.write_unsigned(int(frac[::-1]))
    w.write_bool(tz is not None)
    if tz is not None:
        w.write(tz + 896, 11)


# -- lexical forms ------------------------------------------------------------------------------
def to_lexical(dt: D.Datatype, value: Any) -> str:
    """The XML text of a value, as EXIficient prints it."""
    k = dt.kind
    if k in (D.K_STRING, D.K_ENUM, D.K_RCS, D.K_DATETIME):
        return str(value)
    if k in (D.K_BOOLEAN, D.K_BOOLEAN_PATTERN):
        return "true" if value else "false"
    if k == D.K_HEX:
        return bytes(value).hex().upper()
    if k == D.K_BASE64:
        return base64.b64encode(value).decode("ascii")
    if k == D.K_LIST:
        assert dt.item is not None
        return " ".join(to_lexical(dt.item, v) for v in value)
    if k == D.K_DECIMAL:
        sign, integral, frac = _decimal_parts(value)
        return ("-" if sign else "") + f"{integral}.{str(frac)[::-1]}"
    if k == D.K_FLOAT:
        if value.is_nan():
            return "NaN"
        if value.is_infinite():
            return "-INF" if value < 0 else "INF"
        mantissa, exponent = _float_parts(value)
        return f"{mantissa}E{exponent}"
    return str(value)


_WS = re.compile(r"[ \t\r\n]+")


def collapse(text: str) -> str:
    """XSD whiteSpace="collapse"."""
    return _WS.sub(" ", text).strip(" ")


def from_lexical(dt: D.Datatype, text: str) -> Any:
    """The value of an XML text for datatype ``dt``; ``ValueError`` when it is not a valid lexical form."""
    k = dt.kind
    if k in (D.K_STRING, D.K_RCS):
        return text
    t = collapse(text)
    if k == D.K_ENUM:
        if t not in dt.values:
            raise ValueError(f"{t!r} is not one of the enumerated values")
        return t
    if k in (D.K_INTEGER, D.K_UNSIGNED, D.K_NBIT):
        if not re.fullmatch(r"[+-]?\d+", t):
            raise ValueError(f"not an integer: {t!r}")
        v = int(t)
        if k == D.K_UNSIGNED and v < 0:
            raise ValueError(f"negative value {v} for an unsigned integer")
        if k == D.K_NBIT and not dt.lo <= v <= dt.hi:
            raise ValueError(f"{v} outside [{dt.lo}, {dt.hi}]")
        return v
    if k in (D.K_BOOLEAN, D.K_BOOLEAN_PATTERN):
        if t in ("true", "1"):
            return True
        if t in ("false", "0"):
            return False
        raise ValueError(f"not a boolean: {t!r}")
    if k == D.K_HEX:
        if len(t) % 2 or not re.fullmatch(r"[0-9A-Fa-f]*", t):
            raise ValueError(f"not hexBinary: {t!r}")
        return bytes.fromhex(t)
    if k == D.K_BASE64:
        try:
            return base64.b64decode(t.replace(" ", ""), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"not base64Binary: {t!r}") from exc
    if k == D.K_LIST:
        assert dt.item is not None
        return [from_lexical(dt.item, x) for x in t.split(" ")] if t else []
    if k == D.K_DECIMAL:
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", t):
            raise ValueError(f"not a decimal: {t!r}")
        return Decimal(t)
    if k == D.K_FLOAT:
        if t in ("INF", "-INF", "NaN"):
            return Decimal({"INF": "Infinity", "-INF": "-Infinity", "NaN": "NaN"}[t])
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", t):
            raise ValueError(f"not a float: {t!r}")
        try:
            d = Decimal(t)
            _float_parts(d)
        except (InvalidOperation, EXIEncodeError) as exc:
            raise ValueError(str(exc)) from exc
        return d
    if k == D.K_DATETIME:
        _parse_datetime(dt.variant, t)
        return t
    raise ValueError(f"unsupported datatype {dt.describe()}")
