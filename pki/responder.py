"""The OCSP responder of a home: CertID -> issuing CA -> status in the store -> signed response.

Each CA's answers are signed by its delegated responder (RFC 6960 4.2.2.2), made by ``pnc pki init``.
A CertID is matched to its CA by issuerNameHash and issuerKeyHash under SHA-1/256/384/512; a CA
this home does not hold gets ``unauthorized`` (RFC 5019 2.2.3), a serial the CA never issued
``unknown``.

Caching, and why it stays correct with several processes on one store: statuses (and, for requests
without a nonce, whole signed responses) are kept for ``cache_ttl``. Every revocation increments a
counter in the store in the same transaction (``revocation_epoch``); the responder reads it at most
every ``refresh_interval`` seconds and drops its caches when it changed, so a revocation by any
process is answered within that interval. Revocations through the same :class:`CaService` invalidate
at once. A request with a nonce is signed afresh (the nonce is echoed, RFC 8954), from the cached
status. ``unknown`` is never cached: another process may issue that serial next.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pki.certinfo import parse_certificate
from pki.errors import OcspError
from pki.keys import HASH_ALGORITHMS, digest, public_key_bits
from pki.ocsp import CertId, SingleStatus, build_response, error_response, parse_request
from pki.revocation import CertStatus, RevocationReason
from pki.signer import Signer
from pki.store import CaRecord, Store

if TYPE_CHECKING:
    from pki.ca import CaService

MAX_CACHED = 100_000


@dataclass(frozen=True)
class Answer:
    """An encoded OCSPResponse with what HTTP caching needs to know about it."""

    der: bytes
    this_update: dt.datetime | None = None
    next_update: dt.datetime | None = None
    cacheable: bool = False


@dataclass(frozen=True)
class Issuer:
    """A CA the responder answers for, with its delegated responder's certificate and key."""

    ca: CaRecord
    responder_certificate: bytes
    signer: Signer


@dataclass(frozen=True)
class _Status:
    status: str  # good | revoked | unknown
    revoked_at: dt.datetime | None
    reason: str | None
    this_update: dt.datetime


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class OcspResponder:
    """Thread-safe; :meth:`cached` never does I/O, :meth:`respond` may query the store and sign."""

    def __init__(
        self,
        store: Store,
        issuers: Sequence[Issuer],
        *,
        response_validity: dt.timedelta = dt.timedelta(hours=24),
        cache_ttl: float = 300.0,
        refresh_interval: float = 1.0,
        clock: Callable[[], dt.datetime] = _utcnow,
        path_prefix: str = "",
    ) -> None:
        self.store = store
        self.issuers = list(issuers)
        self.response_validity = response_validity
        self.cache_ttl = cache_ttl
        self.refresh_interval = refresh_interval
        self.clock = clock
        self.path_prefix = path_prefix
        self._index: dict[tuple[str, bytes, bytes], Issuer] = {}
        for issuer in self.issuers:
            info = parse_certificate(issuer.ca.certificate_der)
            key_bits = public_key_bits(info.public_key_der)
            for algorithm in HASH_ALGORITHMS:
                key = (algorithm, digest(algorithm, info.subject_der), digest(algorithm, key_bits))
                self._index[key] = issuer
        self._lock = threading.Lock()
        self._statuses: dict[tuple[int, int], tuple[_Status, float]] = {}
        self._responses: dict[bytes, tuple[Answer, float]] = {}
        self._epoch = store.revocation_epoch()
        self._epoch_checked = time.monotonic()

    @classmethod
    def from_service(cls, service: CaService, **options: object) -> OcspResponder:
        """A responder for every CA of the service's home; loading the responder keys is audited."""
        issuers = [
            Issuer(
                ca=ca, responder_certificate=responder.certificate_der, signer=service.signer(responder.name)
            )
            for ca, responder in service.responders()
        ]
        service.record_key_use("ocsp-serve", [i.ca.name + "/ocsp" for i in issuers])
        urls = {p.ocsp_url for p in service.config.profiles.values() if p.ocsp_url}
        prefix = ""
        if len(urls) == 1:
            from urllib.parse import urlsplit

            prefix = urlsplit(urls.pop()).path.rstrip("/")
        responder = cls(service.store, issuers, path_prefix=prefix, **options)  # type: ignore[arg-type]
        service.on_revoke(responder.invalidate)
        return responder

    # -- caches

    def invalidate(self) -> None:
        with self._lock:
            self._statuses.clear()
            self._responses.clear()

    def _refresh_due(self) -> bool:
        return time.monotonic() - self._epoch_checked >= self.refresh_interval

    def _refresh(self) -> None:
        if not self._refresh_due():
            return
        epoch = self.store.revocation_epoch()
        with self._lock:
            self._epoch_checked = time.monotonic()
            if epoch != self._epoch:
                self._epoch = epoch
                self._statuses.clear()
                self._responses.clear()

    def cached(self, request_der: bytes) -> Answer | None:
        if self._refresh_due():
            return None
        hit = self._responses.get(request_der)
        if hit is None or hit[1] < time.monotonic():
            return None
        return hit[0]

    # -- answering

    def error(self, status: str) -> bytes:
        return error_response(status)

    def respond(self, request_der: bytes) -> Answer:
        try:
            request = parse_request(request_der)
        except OcspError:
            return Answer(error_response("malformedRequest"))
        if not request.cert_ids:
            return Answer(error_response("malformedRequest"))
        self._refresh()
        issuers = {id(i): i for i in (self._index.get(_key(c)) for c in request.cert_ids) if i is not None}
        if len(issuers) != 1 or any(self._index.get(_key(c)) is None for c in request.cert_ids):
            # not a CA of this home, or several CAs whose answers no one responder may sign
            return Answer(error_response("unauthorized"))
        [issuer] = issuers.values()
        statuses = [self._status(issuer, cert_id) for cert_id in request.cert_ids]
        produced_at = self.clock().replace(microsecond=0)
        singles = [
            SingleStatus(
                cert_id=cert_id,
                status=CertStatus(s.status),
                revoked_at=s.revoked_at,
                reason=RevocationReason(s.reason) if s.reason else None,
                this_update=s.this_update,
                next_update=s.this_update + self.response_validity,
            )
            for cert_id, s in zip(request.cert_ids, statuses, strict=True)
        ]
        der = build_response(issuer.responder_certificate, issuer.signer, singles, produced_at, request.nonce)
        this_update = min(s.this_update for s in statuses)
        answer = Answer(
            der,
            this_update=this_update,
            next_update=this_update + self.response_validity,
            cacheable=request.nonce is None,
        )
        if answer.cacheable and all(s.status != "unknown" for s in statuses):
            with self._lock:
                if len(self._responses) >= MAX_CACHED:
                    self._responses.clear()
                self._responses[request_der] = (answer, time.monotonic() + self.cache_ttl)
        return answer

    def _status(self, issuer: Issuer, cert_id: CertId) -> _Status:
        key = (issuer.ca.id, cert_id.serial)
        hit = self._statuses.get(key)
        now = time.monotonic()
        if hit is not None and hit[1] >= now:
            return hit[0]
        state = self.store.revocation_state(issuer.ca.id, format(cert_id.serial, "x"))
        this_update = self.clock().replace(microsecond=0)
        if state is None:
            # not cached: another process may issue this serial any moment (issuance does not
            # advance the revocation epoch)
            return _Status("unknown", None, None, this_update)
        status = _Status(state.status, state.revoked_at, state.reason, this_update)
        with self._lock:
            if len(self._statuses) >= MAX_CACHED:
                self._statuses.clear()
            self._statuses[key] = (status, now + self.cache_ttl)
        return status


def _key(cert_id: CertId) -> tuple[str, bytes, bytes]:
    return (cert_id.hash_algorithm, cert_id.issuer_name_hash, cert_id.issuer_key_hash)
