"""Curve448 arithmetic that ``cryptography`` does not offer: the Ed448 secret scalar, scalar
multiplication on edwards448, and the Ed448 -> X448 key conversion.

ISO 15118-20 encrypts an Ed448 contract key for an EVCC whose OEM provisioning certificate holds an
Ed448 key, with X448 ([V2G20-2710], [V2G20-2711]), the DH parameters "derived from the public ...
EdDSA parameters" ([V2G20-2491]). The derivation used here is the one of the Ed448 reference code
(libdecaf): the X448 private key is the first 56 bytes of SHAKE256(seed, 114), the X448 public key
is u = y^2 / x^2 of the Ed448 public point (the 4-isogeny of IETF RFC 7748 §4.2); both sides agree
(a test checks it against ``cryptography``'s X448 on random keys). Curve constants: IETF RFC 8032
§5.2 and RFC 7748 §4.2.
"""

from __future__ import annotations

import hashlib

P = 2**448 - 2**224 - 1
D = P - 39081
L = 2**446 - 13818066809895115352007386748515426880336692474882178609894547503885
B_X = 224580040295924300187604334099896036246789641632564134246125461686950415467406032909029192869357953282578032075146446173674602635247710
B_Y = 298819210078481492676017930443930673437544040154080242095928241372331506189835876003536878655418784733982303233503462500531545062832660

Point = tuple[int, int, int]  # projective (X, Y, Z)


def _add(p1: Point, p2: Point) -> Point:
    """RFC 8032 §5.2.4 addition in projective coordinates (edwards448, a = 1)."""
    x1, y1, z1 = p1
    x2, y2, z2 = p2
    a = z1 * z2 % P
    b = a * a % P
    c = x1 * x2 % P
    d = y1 * y2 % P
    e = D * c % P * d % P
    f = (b - e) % P
    g = (b + e) % P
    h = (x1 + y1) * (x2 + y2) % P
    return (a * f % P * (h - c - d) % P, a * g % P * (d - c) % P, f * g % P)


def _double(p1: Point) -> Point:
    """RFC 8032 §5.2.4 doubling in projective coordinates."""
    x1, y1, z1 = p1
    b = (x1 + y1) * (x1 + y1) % P
    c = x1 * x1 % P
    d = y1 * y1 % P
    e = (c + d) % P
    h = z1 * z1 % P
    j = (e - 2 * h) % P
    return ((b - e) * j % P, e * (c - d) % P, e * j % P)


def base_multiply(scalar: int) -> bytes:
    """The RFC 8032 encoding (57 bytes) of ``scalar`` times the Ed448 base point."""
    result: Point = (0, 1, 1)
    addend: Point = (B_X, B_Y, 1)
    k = scalar % L
    while k:
        if k & 1:
            result = _add(result, addend)
        addend = _double(addend)
        k >>= 1
    x, y, z = result
    inv = pow(z, P - 2, P)
    x, y = x * inv % P, y * inv % P
    return (y | ((x & 1) << 455)).to_bytes(57, "little")


def ed448_scalar(seed: bytes) -> int:
    """The secret scalar of an Ed448 private key (RFC 8032 §5.2.5: pruned first half of
    SHAKE256(seed, 114)), reduced modulo the group order L."""
    if len(seed) != 57:
        raise ValueError("an Ed448 private key is 57 bytes")
    half = bytearray(hashlib.shake_256(seed).digest(114)[:57])
    half[0] &= 0xFC
    half[56] = 0
    half[55] |= 0x80
    return int.from_bytes(half, "little") % L


def x448_private_from_ed448(seed: bytes) -> bytes:
    """The X448 private key (RFC 7748, 56 bytes) that belongs to an Ed448 private key."""
    if len(seed) != 57:
        raise ValueError("an Ed448 private key is 57 bytes")
    return hashlib.shake_256(seed).digest(114)[:56]


def x448_public_from_ed448(public: bytes) -> bytes:
    """The X448 public key (u, 56 bytes) of an Ed448 public key (57 bytes): u = y^2 / x^2."""
    if len(public) != 57:
        raise ValueError("an Ed448 public key is 57 bytes")
    y = int.from_bytes(public, "little") & ((1 << 455) - 1)
    if y >= P:
        raise ValueError("not an Ed448 public key: y is out of range")
    y2 = y * y % P
    x2 = (y2 - 1) * pow((D * y2 - 1) % P, P - 2, P) % P
    if x2 == 0 or pow(x2, (P - 1) // 2, P) != 1:
        raise ValueError("not an Ed448 public key: no point has this y")
    return (y2 * pow(x2, P - 2, P) % P).to_bytes(56, "little")
