"""What the bridge knows about certificate authorities: the home's own CAs (answered from its
store), the trust anchors of contract chains, and CA certificates seen in validated chains (to
verify the OCSP answers of foreign CAs).

Loaded once per process from the store (CAs do not change once the key ceremony wrote them).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from pki.ca import CaService
from pki.certid import CertId
from pki.certinfo import CertInfo, parse_certificate
from pki.errors import TrustAnchorError
from pki.keys import HASH_ALGORITHMS, digest, public_key_bits
from pki.profiles import CA_ROLES, Role
from pki.validation import TrustStore, validate_chain

# Contract chains end at an MO root, or at the V2G root (ISO 15118-2 allows both).
CONTRACT_ANCHOR_ROLES = (Role.MO_ROOT, Role.V2G_ROOT)
CONTRACT_INTERMEDIATE_ROLES = (Role.MO_SUB2, Role.MO_SUB1)
MAX_KNOWN_ISSUERS = 10_000

_IssuerKey = tuple[str, bytes, bytes]  # (hash algorithm, issuerNameHash, issuerKeyHash)


@dataclass(frozen=True)
class OwnCa:
    """A CA of this home: its store id and name, and its parsed certificate."""

    id: int
    name: str
    certificate: CertInfo


def issuer_keys(cert: CertInfo) -> list[_IssuerKey]:
    """The CertID issuer parts naming ``cert`` as the issuer, under every hash algorithm."""
    bits = public_key_bits(cert.public_key_der)
    return [(name, digest(name, cert.subject_der), digest(name, bits)) for name in HASH_ALGORITHMS]


def issuer_key(cert_id: CertId) -> _IssuerKey:
    return (cert_id.hash_algorithm, cert_id.issuer_name_hash, cert_id.issuer_key_hash)


class KnownIssuers:
    """CA certificates by the CertID issuer hashes naming them (thread-safe, bounded)."""

    def __init__(self, certificates: Iterable[CertInfo] = ()) -> None:
        self._by_key: dict[_IssuerKey, CertInfo] = {}
        self._seen: set[bytes] = set()
        self._lock = threading.Lock()
        for cert in certificates:
            self.add(cert)

    def add(self, cert: CertInfo) -> None:
        if cert.der in self._seen or not cert.is_ca:
            return
        keys = issuer_keys(cert)
        with self._lock:
            if len(self._seen) >= MAX_KNOWN_ISSUERS:
                return  # the home's own CAs and anchors came first; stop learning
            self._seen.add(cert.der)
            for key in keys:
                self._by_key[key] = cert

    def find(self, cert_id: CertId) -> CertInfo | None:
        return self._by_key.get(issuer_key(cert_id))

    def __len__(self) -> int:
        return len(self._seen)


class HomeTrust:
    """The home's CAs and the trust anchors for contract chains (plus ``extra_anchors``, DER roots
    such as Hubject's V2G and MO roots, and ``extra_cas``, sub-CAs of those PKIs whose OCSP answers
    must be verified before any chain of theirs was seen: hash data names issuers by hash only)."""

    def __init__(
        self, service: CaService, extra_anchors: Iterable[bytes] = (), extra_cas: Iterable[bytes] = ()
    ) -> None:
        records = [ca for ca in service.store.cas() if Role(ca.role) in CA_ROLES]
        self.own_cas = tuple(OwnCa(ca.id, ca.name, parse_certificate(ca.certificate_der)) for ca in records)
        self._own_by_der = {ca.certificate.der: ca for ca in self.own_cas}
        self._own_by_key: dict[_IssuerKey, OwnCa] = {}
        for ca in self.own_cas:
            for key in issuer_keys(ca.certificate):
                self._own_by_key[key] = ca
        anchors = [ca.certificate_der for ca in records if Role(ca.role) in CONTRACT_ANCHOR_ROLES]
        self.extra_anchors = tuple(parse_certificate(der) for der in extra_anchors)
        self.contract_trust = TrustStore([*anchors, *(a.der for a in self.extra_anchors)])
        # a charger may send the contract leaf alone: the home's MO sub-CAs complete its chain
        self.contract_intermediates = tuple(
            ca.certificate_der for ca in records if Role(ca.role) in CONTRACT_INTERMEDIATE_ROLES
        )
        self.known = KnownIssuers([*(ca.certificate for ca in self.own_cas), *self.extra_anchors])
        extras = [parse_certificate(der) for der in extra_cas]
        for extra in extras:
            verdict = validate_chain(
                [extra.der, *(c.der for c in extras if c is not extra)], self.contract_trust, service.clock()
            )
            if not verdict.ok or not extra.is_ca:
                raise TrustAnchorError(
                    f"extra CA certificate {extra.subject} is no CA chaining to a trust anchor: {verdict}"
                )
            self.known.add(extra)

    def own_ca_of_der(self, der: bytes) -> OwnCa | None:
        """The home's CA with this certificate."""
        return self._own_by_der.get(der)

    def own_issuer(self, cert_id: CertId) -> OwnCa | None:
        """The home's CA a CertID (OCPP hash data) names as the issuer, if it is one of ours."""
        return self._own_by_key.get(issuer_key(cert_id))

    @property
    def ca_ids(self) -> dict[bytes, int]:
        return {ca.certificate.der: ca.id for ca in self.own_cas}


class RevocationEpoch:
    """A token that changes whenever a revocation may have happened: this process's revocations
    through the CA service at once, other processes' (the store's revocation epoch) within
    ``refresh_interval`` seconds. Results cached under one token are stale under another."""

    def __init__(self, service: CaService, *, refresh_interval: float = 1.0) -> None:
        self.service = service
        self.refresh_interval = refresh_interval
        self._local = 0
        self._store_epoch = -1
        self._checked = float("-inf")
        self._lock = threading.Lock()
        service.on_revoke(self._bump)

    def _bump(self) -> None:
        with self._lock:
            self._local += 1

    def fresh(self) -> tuple[int, int] | None:
        """The current token without touching the store, or None when it must be refreshed."""
        if time.monotonic() - self._checked >= self.refresh_interval:
            return None
        return (self._store_epoch, self._local)

    def current(self) -> tuple[int, int]:
        """The current token, reading the store's epoch when due (call from a worker thread)."""
        token = self.fresh()
        if token is not None:
            return token
        epoch = self.service.store.revocation_epoch()
        with self._lock:
            self._store_epoch = epoch
            self._checked = time.monotonic()
            return (self._store_epoch, self._local)


__all__ = ["HomeTrust", "KnownIssuers", "OwnCa", "RevocationEpoch", "issuer_key", "issuer_keys"]
