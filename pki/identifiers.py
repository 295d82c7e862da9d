"""The identifiers that appear as a certificate's common name, and their syntax rules.

- eMAID (contract certificate CN), ISO 15118-2 Annex H: country (2 letters), provider (3
  alphanumerics), instance (9 alphanumerics), optional check character; '-' may separate the parts.
  The check character is the eMI3 "Check Digit Calculation for Contract-IDs" matrix method.
- DIN SPEC 91286 contract IDs (``CC-PPP-IIIIII-D``, weighted sum mod 11) map to an eMAID whose
  instance is ``00`` + the DIN instance + the DIN check digit.
- PCID (OEM provisioning CN), VDE-AR-E 2802-100-1: WMI (3) + 14 alphanumerics + optional check.
- SECC ID (SECC leaf CN), ISO 15118-20 syntax as Hubject's certificate policy spells it.
- EVSE ID (ISO 15118-2 EVSEID; Hubject's enrolment requires it as the SECC CSR's CN).
- Charging-station identity (CN of the OCPP client certificate), OCPP 2.0.1 identifierString.

Every validator returns the canonical form and raises :class:`~pki.errors.IdentifierError` naming
the rule that failed.
"""

from __future__ import annotations

import functools
import re
import string
from functools import cache

from pki.errors import IdentifierError

ALPHABET = string.digits + string.ascii_uppercase  # the 36 characters of eMAIDs, in value order

RULE_EMAID = "ISO 15118-2 Annex H eMAID"
RULE_EMAID_CHECK = "eMAID check character (eMI3 matrix method)"
RULE_DIN = "DIN SPEC 91286 contract ID"
RULE_PCID = "VDE-AR-E 2802-100-1 PCID"
RULE_SECC_ID = "ISO 15118-20 SECCID"
RULE_EVSE_ID = "ISO 15118-2 EVSEID"
RULE_STATION_ID = "OCPP 2.0.1 charging station identity"

_EMAID = re.compile(r"([A-Z]{2})-?([A-Z0-9]{3})-?([A-Z0-9]{9})(?:-?([A-Z0-9]))?", re.ASCII)
_DIN = re.compile(r"([A-Z]{2})[-*]?([A-Z0-9]{3})[-*]?([A-Z0-9]{6})(?:[-*]?([A-Z0-9X]))?", re.ASCII)
# <CC> <S> <EVSE Operator ID> <S> "S" <S> <ControllerID: 32..248> [<S> <check digit>], <S> = "-"
_SECC_ID = re.compile(r"[A-Z]{2}-?[A-Z0-9]{3}-?S-?[A-Z0-9]{32,248}(?:-[A-Z0-9])?", re.ASCII | re.I)
SECC_ID_MAX_LENGTH = 64  # X.520 ub-common-name: the SECC ID is the SECC leaf's CN
# <CC> <S> <EVSE Operator ID> <S> "E" <Power Outlet ID>, <S> = "*" (Hubject's enrolment pattern,
# with \w narrowed to ASCII letters and digits); ISO 15118-2 EVSEID is at most 37 characters
_EVSE_ID = re.compile(r"[A-Za-z]{2}\*?[A-Za-z0-9]{3}\*?E[A-Za-z0-9*]{1,30}", re.ASCII)
EVSE_ID_MAX_LENGTH = 37
_PCID = re.compile(r"[A-Za-z0-9]{17,18}", re.ASCII)
# OCPP 2.0.1 identifierString minus ':' (the identity is the HTTP Basic Auth user-id), 1..48 chars
_STATION_ID = re.compile(r"[A-Za-z0-9*\-_=+|@.]{1,48}", re.ASCII)


def _show(value: str) -> str:
    """The offending input for an error message: quoted, escaped and never overly long."""
    text = value if len(value) <= 70 else value[:67] + "..."
    return repr(text)


def _need_str(value: object, rule: str) -> str:
    if not isinstance(value, str):
        raise IdentifierError(rule, f"expected a string, got {type(value).__name__}")
    return value


# --- eMAID check character (eMI3 "Check Digit Calculation for Contract-IDs") --------------------
# Each character's value v (0..35) is split into a vector over Z2 and one over Z3:
# v = 18*q1 + 9*q2 + 3*r1 + r2. With P1 = [[0,1],[1,1]] over Z2 and P2 = [[0,1],[1,2]] over Z3,
# a full 15-character ID satisfies sum_i q_i * P1^i = 0 (mod 2) and sum_i r_i * P2^i = 0 (mod 3),
# i = 1..15, (q_i, r_i) as row vectors. The check character is the one that makes both sums zero.

_Matrix = tuple[tuple[int, int], tuple[int, int]]
_Vector = tuple[int, int]


def _mat_mul(a: _Matrix, b: _Matrix, mod: int) -> _Matrix:
    return (
        ((a[0][0] * b[0][0] + a[0][1] * b[1][0]) % mod, (a[0][0] * b[0][1] + a[0][1] * b[1][1]) % mod),
        ((a[1][0] * b[0][0] + a[1][1] * b[1][0]) % mod, (a[1][0] * b[0][1] + a[1][1] * b[1][1]) % mod),
    )


def _vec_mul(v: _Vector, m: _Matrix, mod: int) -> _Vector:
    return ((v[0] * m[0][0] + v[1] * m[1][0]) % mod, (v[0] * m[0][1] + v[1] * m[1][1]) % mod)


@cache
def _powers(base: _Matrix, mod: int) -> tuple[_Matrix, ...]:
    """base^1 .. base^15 over Z_mod."""
    result = [base]
    for _ in range(14):
        result.append(_mat_mul(result[-1], base, mod))
    return tuple(result)


_P1: _Matrix = ((0, 1), (1, 1))
_P2: _Matrix = ((0, 1), (1, 2))


def _split(value: int) -> tuple[_Vector, _Vector]:
    return ((value // 18) % 2, (value // 9) % 2), ((value // 3) % 3, value % 3)


def emaid_check_character(s14: str) -> str:
    """The check character of a 14-character eMAID (country, provider, instance; no separators).

    Lower case is accepted (the eMAID is case-insensitive); the result is an upper-case character.
    """
    text = _need_str(s14, RULE_EMAID_CHECK).upper()
    if len(text) != 14 or any(c not in ALPHABET for c in text):
        raise IdentifierError(
            RULE_EMAID_CHECK, f"{_show(s14)}: needs exactly 14 ASCII letters or digits (no separators)"
        )
    return _check_character(text)


@functools.lru_cache(maxsize=8192)
def _check_character(text: str) -> str:
    # memoized: Authorize and installations check the same few eMAIDs again and again
    p1, p2 = _powers(_P1, 2), _powers(_P2, 3)
    t1: _Vector = (0, 0)
    t2: _Vector = (0, 0)
    for i, char in enumerate(text):
        q, r = _split(ALPHABET.index(char))
        a, b = _vec_mul(q, p1[i], 2), _vec_mul(r, p2[i], 3)
        t1 = ((t1[0] + a[0]) % 2, (t1[1] + a[1]) % 2)
        t2 = ((t2[0] + b[0]) % 3, (t2[1] + b[1]) % 3)
    for value, char in enumerate(ALPHABET):
        q, r = _split(value)
        a, b = _vec_mul(q, p1[14], 2), _vec_mul(r, p2[14], 3)
        if (t1[0] + a[0]) % 2 == (t1[1] + a[1]) % 2 == 0 and (t2[0] + b[0]) % 3 == (t2[1] + b[1]) % 3 == 0:
            return char
    raise AssertionError("P1^15 and P2^15 are invertible: exactly one check character exists")


def normalize_emaid(s: str) -> str:
    """The eMAID in canonical form: upper case, no separators, the check character kept if given.

    Accepts ``DE-8AA-CA2B3C4D5-L``, ``DE8AACA2B3C4D5L``, ``de8aaca2b3c4d5`` ...; a present check
    character must be right. DIN SPEC 91286 IDs are not eMAIDs: convert them with
    :func:`din_to_emaid`.
    """
    text = _need_str(s, RULE_EMAID)
    match = _EMAID.fullmatch(text.upper())
    if match is None:
        hint = ""
        if _DIN.fullmatch(text.upper()):
            hint = " (this looks like a DIN SPEC 91286 ID: convert it with din_to_emaid)"
        raise IdentifierError(
            RULE_EMAID,
            f"{_show(s)}: expected country (2 letters), provider (3), instance (9 letters or digits) "
            f"and an optional check character, '-' between the parts optional{hint}",
        )
    country, provider, instance, check = match.groups()
    body = country + provider + instance
    if check is not None:
        expected = emaid_check_character(body)
        if check != expected:
            raise IdentifierError(
                RULE_EMAID_CHECK, f"{_show(s)}: check character is {check!r}, the ID needs {expected!r}"
            )
        return body + check
    return body


def emaid_with_check_character(s: str) -> str:
    """The 15-character canonical eMAID: :func:`normalize_emaid` plus the check character."""
    emaid = normalize_emaid(s)
    return emaid if len(emaid) == 15 else emaid + emaid_check_character(emaid)


# --- DIN SPEC 91286 --------------------------------------------------------------------------


def din_check_digit(s11: str) -> str:
    """The DIN SPEC 91286 check digit of country + provider + 6-character instance (11 chars).

    Digits count once, letters (A=10 .. Z=35) as their two decimal digits; the n-th digit is
    weighted 2**n; the sum mod 11 is the check digit, 10 written as ``X``.
    """
    text = _need_str(s11, RULE_DIN).upper()
    if len(text) != 11 or any(c not in ALPHABET for c in text):
        raise IdentifierError(RULE_DIN, f"{_show(s11)}: needs exactly 11 ASCII letters or digits")
    digits: list[int] = []
    for char in text:
        value = ALPHABET.index(char)
        digits.extend(divmod(value, 10) if value >= 10 else (value,))
    total = sum(d << n for n, d in enumerate(digits)) % 11
    return "X" if total == 10 else str(total)


def din_to_emaid(s: str) -> str:
    """The 15-character eMAID of a DIN SPEC 91286 contract ID (``CC-PPP-IIIIII-D``, '-' or '*').

    Without a check digit, the DIN check digit is computed; a given one must be right.
    """
    text = _need_str(s, RULE_DIN)
    match = _DIN.fullmatch(text.upper())
    if match is None:
        raise IdentifierError(
            RULE_DIN,
            f"{_show(s)}: expected country (2 letters), provider (3), instance (6) and an optional "
            "check digit, '-' or '*' between the parts optional",
        )
    country, provider, instance, check = match.groups()
    expected = din_check_digit(country + provider + instance)
    if check is not None and check != expected:
        raise IdentifierError(RULE_DIN, f"{_show(s)}: check digit is {check!r}, the ID needs {expected!r}")
    body = country + provider + "00" + instance + expected
    return body + emaid_check_character(body)


def emaid_to_din(s: str) -> str | None:
    """The DIN SPEC 91286 form (``CC-PPP-IIIIII-D``) of an eMAID that came from one, else None."""
    emaid = normalize_emaid(s)
    country, provider, instance = emaid[:2], emaid[2:5], emaid[5:14]
    if not instance.startswith("00"):
        return None
    din_instance, din_check = instance[2:8], instance[8]
    if din_check_digit(country + provider + din_instance) != din_check:
        return None
    return f"{country}-{provider}-{din_instance}-{din_check}"


# --- PCID, SECC ID, EVSE ID, charging-station identity ----------------------------------------


def _validate(s: str, rule: str, pattern: re.Pattern[str], max_length: int, expected: str) -> str:
    text = _need_str(s, rule)
    if len(text) > max_length or not pattern.fullmatch(text):
        raise IdentifierError(rule, f"{_show(s)}: expected {expected}")
    return text


def validate_pcid(s: str) -> str:
    """A provisioning certificate ID: 17 or 18 ASCII letters or digits; returned unchanged."""
    return _validate(
        s,
        RULE_PCID,
        _PCID,
        18,
        "WMI (3) + 14 letters or digits + an optional check character "
        "(17 or 18 ASCII letters or digits, no separators)",
    )


def validate_secc_id(s: str) -> str:
    """A SECC ID, e.g. ``DE-ICE-S-00003C4D557878675645330967543476-2``; returned unchanged.

    Syntax: country (2 letters), EVSE operator (3), ``S``, controller ID (at least 32 letters or
    digits), optional check digit; optional '-' separators; at most 64 characters (it is a CN).
    """
    return _validate(
        s,
        RULE_SECC_ID,
        _SECC_ID,
        SECC_ID_MAX_LENGTH,
        "<country 2><operator 3>S<controller ID, >= 32 letters or digits>[<check digit>] with "
        f"optional '-' separators, at most {SECC_ID_MAX_LENGTH} characters",
    )


def validate_evse_id(s: str) -> str:
    """An ISO 15118-2 EVSE ID, e.g. ``DE*ICE*E45B*78C``; returned unchanged."""
    return _validate(
        s,
        RULE_EVSE_ID,
        _EVSE_ID,
        EVSE_ID_MAX_LENGTH,
        "<country 2>[*]<operator 3>[*]E<power outlet ID: letters, digits, '*'>, "
        f"at most {EVSE_ID_MAX_LENGTH} characters",
    )


def validate_station_id(s: str) -> str:
    """A charging-station identity (OCPP client certificate CN, the websocket URL's last segment).

    OCPP 2.0.1 identifierString characters (letters, digits, ``*-_=+|@.``) without ':', which the
    HTTP Basic Auth user-id of security profiles 1 and 2 cannot carry; 1 to 48 characters.
    """
    return _validate(
        s, RULE_STATION_ID, _STATION_ID, 48, "1 to 48 of the characters A-Z a-z 0-9 * - _ = + | @ ."
    )
