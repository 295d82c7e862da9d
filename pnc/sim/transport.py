"""V2GTP over TCP the way ISO 15118 secures it: the TLS contexts of both sides.

- ISO 15118-2: TLS 1.2 only, cipher suite TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 on secp256r1
  (the other suite the standard names, static ECDH, no longer exists in OpenSSL). The
  SECC presents its certificate and the CPO sub-CAs; the EV checks the chain against its V2G
  roots. No client certificate.
- ISO 15118-20: TLS 1.3 only, with mutual authentication: the SECC as above, and
  the EV presents its vehicle certificate (here its OEM provisioning certificate and the OEM
  sub-CAs), which the SECC checks against its OEM roots. Key exchange on secp521r1; the TLS 1.3
  cipher suites are OpenSSL's (Python's ``ssl`` cannot narrow them; TLS_AES_256_GCM_SHA384 comes
  first).
- DIN SPEC 70121: plain TCP.

Neither side checks a host name: an SECC is known by the SECC ID in its certificate's CN, not by
an address (``ssl`` is told so with ``check_hostname = False``; the chain is still verified).
Certificates and keys come as PEM files (Python's ``ssl`` loads nothing else).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from pnc.sim.errors import SimError

TLS12_CIPHERS = "ECDHE-ECDSA-AES128-SHA256"  # TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256
TLS12_CURVE = "prime256v1"
TLS13_CURVE = "secp521r1"
FAMILIES = ("din", "iso2", "iso20")


@dataclass(frozen=True)
class TlsInfo:
    """What a TLS handshake negotiated (None for plain TCP)."""

    version: str
    cipher: str
    peer_certificate: bytes | None  # DER, as the other side presented it (verified)

    @classmethod
    def of(cls, ssl_object: ssl.SSLObject | None) -> TlsInfo | None:
        if ssl_object is None:
            return None
        cipher = ssl_object.cipher()
        return cls(
            version=ssl_object.version() or "",
            cipher=cipher[0] if cipher else "",
            peer_certificate=ssl_object.getpeercert(binary_form=True),
        )

    def summary(self) -> str:
        return f"{self.version} {self.cipher}"


def family_of(protocol: str) -> str:
    """``din``, ``iso2`` or ``iso20`` for a protocol name (``iso20-dc`` -> ``iso20``)."""
    family = "iso20" if protocol.startswith("iso20") else protocol
    if family not in FAMILIES:
        raise SimError(f"unknown protocol {protocol!r}: use din, iso2, iso20-ac or iso20-dc")
    return family


def _load_chain(context: ssl.SSLContext, chain: Path, key: Path, password: bytes | None, what: str) -> None:
    try:
        context.load_cert_chain(str(chain), str(key), password=password)
    except (OSError, ssl.SSLError) as exc:
        raise SimError(f"{what} {chain} / {key}: {exc}") from None


def _load_trust(context: ssl.SSLContext, roots: Path, what: str) -> None:
    try:
        context.load_verify_locations(cafile=str(roots))
    except (OSError, ssl.SSLError) as exc:
        raise SimError(f"{what} {roots}: {exc}") from None


def _versioned(purpose: int, family: str) -> ssl.SSLContext:
    context = ssl.SSLContext(purpose)
    if family == "iso2":
        context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers(TLS12_CIPHERS)
        context.set_ecdh_curve(TLS12_CURVE)
    elif family == "iso20":
        context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_3
        context.set_ecdh_curve(TLS13_CURVE)
    else:
        raise SimError(f"{family} runs on plain TCP, without TLS")
    return context


def secc_context(
    family: str,
    certificate_chain: Path,
    key: Path,
    *,
    client_roots: Path | None = None,
    key_password: bytes | None = None,
) -> ssl.SSLContext:
    """The charger's server context: ``certificate_chain`` (PEM: SECC certificate, CPO Sub-CA 2,
    CPO Sub-CA 1) and its ``key``; for ISO 15118-20 ``client_roots`` (the OEM roots, PEM) are
    required, and the EV must present a certificate chaining to one of them."""
    context = _versioned(ssl.PROTOCOL_TLS_SERVER, family)
    _load_chain(context, certificate_chain, key, key_password, "SECC certificate")
    if family == "iso20":
        if client_roots is None:
            raise SimError(
                "ISO 15118-20 authenticates the EV: give the OEM root(s) its certificate chains to"
            )
        _load_trust(context, client_roots, "OEM roots")
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def ev_context(
    family: str,
    v2g_roots: Path,
    *,
    certificate_chain: Path | None = None,
    key: Path | None = None,
    key_password: bytes | None = None,
) -> ssl.SSLContext:
    """The EV's client context: trusts ``v2g_roots`` (PEM) for the SECC's chain; for ISO 15118-20
    presents ``certificate_chain`` with ``key`` (required there)."""
    context = _versioned(ssl.PROTOCOL_TLS_CLIENT, family)
    context.check_hostname = False  # an SECC has no host name; the chain is verified all the same
    context.verify_mode = ssl.CERT_REQUIRED
    _load_trust(context, v2g_roots, "V2G roots")
    if family == "iso20":
        if certificate_chain is None or key is None:
            raise SimError("ISO 15118-20 needs the EV's certificate and key for mutual TLS authentication")
        _load_chain(context, certificate_chain, key, key_password, "vehicle certificate")
    return context


__all__ = [
    "FAMILIES",
    "TLS12_CIPHERS",
    "TLS12_CURVE",
    "TLS13_CURVE",
    "TlsInfo",
    "ev_context",
    "family_of",
    "secc_context",
]
