"""EXI 1.0 §7 datatypes: each value kind round-trips, and known encodings come out bit for bit."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from v2g.errors import EXIDecodeError
from v2g.exi import datatype as D
from v2g.exi import values as V
from v2g.exi.bits import BitReader, BitWriter, coding_length


def _bits(dt: D.Datatype, value: Any) -> str:
    w = BitWriter()
    V.write_value(w, dt, value)
    n = w.pos
    data = w.getvalue()
    return format(int.from_bytes(data, "big"), f"0{len(data) * 8}b")[:n]


def _roundtrip(dt: D.Datatype, value: Any) -> Any:
    w = BitWriter()
    V.write_value(w, dt, value)
    r = BitReader(w.getvalue())
    out = V.read_value(r, dt)
    assert r.pos == w.pos
    return out


def test_coding_length_is_ceil_log2() -> None:
    assert [coding_length(n) for n in (0, 1, 2, 3, 4, 5, 8, 9, 4096)] == [0, 0, 1, 2, 2, 3, 3, 4, 12]


@pytest.mark.parametrize(
    ("value", "bits"),
    [(0, "00000000"), (127, "01111111"), (128, "1000000000000001"), (300, "1010110000000010")],
)
def test_unsigned_integer_is_seven_bit_groups_least_significant_first(value: int, bits: str) -> None:
    assert _bits(D.Datatype(D.K_UNSIGNED), value) == bits


def test_signed_integer_has_a_sign_bit_and_magnitude_minus_one() -> None:
    assert _bits(D.Datatype(D.K_INTEGER), -1) == "1" + "00000000"
    assert _bits(D.Datatype(D.K_INTEGER), 5) == "0" + "00000101"


def test_bounded_integer_uses_n_bits_offset_from_the_lower_bound() -> None:
    dt = D.Datatype(D.K_NBIT, lo=-3, hi=3)  # the unit multiplier of ISO 15118-2
    assert _bits(dt, -3) == "000"
    assert _bits(dt, 3) == "110"


def test_bounded_integer_above_its_bound_decodes_like_exificient() -> None:
    r = BitReader(bytes([0b11100000]))
    assert V.read_value(r, D.Datatype(D.K_NBIT, lo=-3, hi=3)) == 4


def test_string_is_length_plus_two_then_code_points() -> None:
    assert _bits(D.STRING, "A") == format(3, "08b") + format(65, "08b")
    assert _roundtrip(D.STRING, "Grüße € \U0001f50c") == "Grüße € \U0001f50c"


def test_a_string_value_table_hit_is_refused() -> None:
    with pytest.raises(EXIDecodeError, match="value string table"):
        V.read_value(BitReader(bytes([0, 0])), D.STRING)


def test_enumeration_is_the_index_in_schema_order() -> None:
    dt = D.Datatype(D.K_ENUM, values=("h", "m", "s", "A", "V", "W", "Wh"), item=D.STRING)
    assert _bits(dt, "V") == "100"
    with pytest.raises(EXIDecodeError, match="enumeration index 7"):
        V.read_value(BitReader(bytes([0b11100000])), dt)


@pytest.mark.parametrize("kind", [D.K_HEX, D.K_BASE64])
def test_binary_is_length_then_octets(kind: str) -> None:
    dt = D.Datatype(kind)
    assert _bits(dt, b"\x01\xff") == "00000010" + "00000001" + "11111111"
    assert _roundtrip(dt, b"") == b""


def test_boolean_is_one_bit_and_two_with_a_pattern() -> None:
    assert _bits(D.Datatype(D.K_BOOLEAN), True) == "1"
    assert _bits(D.Datatype(D.K_BOOLEAN_PATTERN), True) == "10"


def test_decimal_is_sign_integral_and_reversed_fraction() -> None:
    dt = D.Datatype(D.K_DECIMAL)
    assert _bits(dt, Decimal("-1.05")) == "1" + "00000001" + format(50, "08b")
    assert _roundtrip(dt, Decimal("12.340")) == Decimal("12.34")
    assert V.to_lexical(dt, Decimal(7)) == "7.0"  # EXIficient always prints a fraction digit


def test_float_is_mantissa_and_exponent() -> None:
    dt = D.Datatype(D.K_FLOAT)
    assert _roundtrip(dt, Decimal("1.5")) == Decimal("15E-1")
    assert V.to_lexical(dt, Decimal("1.5")) == "15E-1"
    assert V.to_lexical(dt, _roundtrip(dt, Decimal("-Infinity"))) == "-INF"
    assert V.to_lexical(dt, _roundtrip(dt, Decimal("NaN"))) == "NaN"


@pytest.mark.parametrize(
    ("variant", "text"),
    [
        ("dateTime", "2024-06-17T06:58:54Z"),
        ("dateTime", "1999-12-31T23:59:59.125+05:30"),
        ("date", "2013-01-02"),
        ("time", "12:34:56.5-01:00"),
        ("gYear", "-0044"),
        ("gYearMonth", "2022-03"),
        ("gMonthDay", "--01-28"),
        ("gMonth", "--12"),
        ("gDay", "---16Z"),
    ],
)
def test_date_time_types_round_trip_their_lexical_form(variant: str, text: str) -> None:
    dt = D.Datatype(D.K_DATETIME, variant=variant)
    assert _roundtrip(dt, V.from_lexical(dt, text)) == text


def test_list_is_a_count_then_items() -> None:
    dt = D.Datatype(D.K_LIST, item=D.STRING)
    assert _roundtrip(dt, ["a", "bc"]) == ["a", "bc"]
    assert V.from_lexical(dt, "  a   bc ") == ["a", "bc"]


def test_restricted_character_set_codes_members_and_escapes_others() -> None:
    dt = D.Datatype(D.K_RCS, chars=tuple(ord(c) for c in "0123456789"))
    assert _bits(dt, "09") == format(4, "08b") + "0000" + "1001"
    assert _roundtrip(dt, "1x2") == "1x2"


def test_lexical_forms_are_exificients() -> None:
    assert V.to_lexical(D.Datatype(D.K_HEX), b"\xab\x01") == "AB01"
    assert V.to_lexical(D.Datatype(D.K_BASE64), bytes(range(60))).count("\n") == 0
    assert V.to_lexical(D.Datatype(D.K_BOOLEAN), False) == "false"


@pytest.mark.parametrize(
    ("dt", "text"),
    [
        (D.Datatype(D.K_INTEGER), "1.5"),
        (D.Datatype(D.K_UNSIGNED), "-1"),
        (D.Datatype(D.K_NBIT, lo=0, hi=100), "101"),
        (D.Datatype(D.K_BOOLEAN), "yes"),
        (D.Datatype(D.K_HEX), "ABC"),
        (D.Datatype(D.K_BASE64), "not base64!"),
        (D.Datatype(D.K_ENUM, values=("a",), item=D.STRING), "b"),
        (D.Datatype(D.K_DATETIME, variant="date"), "17 June"),
    ],
)
def test_invalid_lexical_values_are_value_errors(dt: D.Datatype, text: str) -> None:
    with pytest.raises(ValueError):
        V.from_lexical(dt, text)


@given(st.integers(min_value=-(2**200), max_value=2**200))
def test_integers_of_any_size_round_trip(n: int) -> None:
    assert _roundtrip(D.Datatype(D.K_INTEGER), n) == n


@given(st.text())
def test_any_text_round_trips(text: str) -> None:
    assert _roundtrip(D.STRING, text) == text


@given(st.binary(max_size=300))
def test_any_bytes_round_trip(data: bytes) -> None:
    assert _roundtrip(D.Datatype(D.K_BASE64), data) == data
