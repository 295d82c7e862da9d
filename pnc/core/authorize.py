"""Authorize (OCPP 2.0.1 C07) with a contract certificate or its OCSP hash data.

The request, as camelCase JSON: ``idToken {idToken, type}`` and either ``certificate`` (the contract
chain as PEM, leaf first) or ``iso15118CertificateHashData`` (1 to 4 OCSPRequestData of the chain's
certificates). The answer pairs ``idTokenInfo.status`` with ``certificateStatus`` exactly as the
OCPP 2.0.1 errata 2023-12 (C07.FR.13-17) prescribe:

=====================================================  ====================  ==================
situation                                              certificateStatus     idTokenInfo.status
=====================================================  ====================  ==================
valid chain (or hash data), contract usable            Accepted              Accepted
valid, but the registry lists the eMAID blocked        ContractCancelled     Blocked
valid, but the contract expired (status or valid-to)   ContractCancelled     Expired
valid, eMAID unknown and registration required         ContractCancelled     Unknown
a certificate of the chain expired                     CertificateExpired    Expired
a certificate of the chain is revoked                  CertificateRevoked    Invalid
the chain cannot be verified (see below)               CertChainError        Invalid
=====================================================  ====================  ==================

``SignatureError`` and ``NoCertificateAvailable`` are never answered (the errata: "not used").

**Certificate.** The chain is validated with :func:`pki.validation.validate_chain` against the MO
and V2G roots of the home and ``BridgeSettings.extra_trust_anchors`` as a contract chain (leaf role
contract: DC=MO, an eMAID as CN, the profile's algorithms and sizes); when the charger sends the leaf
alone, the home's MO sub-CAs complete the path. CertChainError covers: an unknown issuer, a broken
signature, a profile violation, a certificate not yet valid, more than 4 certificates, a leaf whose
eMAID is not the ``idToken``, a certificate our CA signed that its store does not know, and a
foreign certificate whose revocation status cannot be had (below).

**Revocation.** For certificates of the home's CAs the store answers (a revocation counts at once
in this process and within a second in others sharing the store). For every other certificate of
the path that names an OCSP responder (AIA) the responder is asked (:mod:`pnc.core.ocsp_client`:
``ocsp_timeout``, cached until nextUpdate) and its answer must verify against the issuer in the
path. *When no verified answer arrives (timeout, HTTP error, an error status, an unverifiable
signature) the answer is CertChainError + Invalid*: the bridge fails closed, a revoked contract
must not charge because a responder is down. A certificate that names no responder is not checked
for revocation (the V2G PKI's CAs all run OCSP; CRLs are not fetched).

**Hash data.** The charger validated the chain itself and sends the CertIDs (hex hashes, the serial
as hex without leading zeros: OCPP 2.0.1 errata 2023-12 §2.15.1; anything else is a
:class:`PayloadError`, never a guess). Each entry of a home CA is answered from the store (not
issued by that CA: CertChainError; expired: CertificateExpired; revoked: CertificateRevoked);
every other entry by OCSP to its ``responderURL`` (``ocsp_allowed_hosts`` applies), verified
against a known issuer or the issuer certificate in the response, failing closed as above. The
first entry (in the order given) that fails decides.

**Contract.** For a valid chain or hash data the eMAID's contract in the registry decides (its
effective status: an active contract past its valid-to is expired); an eMAID the registry does not
list is Accepted (the MO's signature is the authorization), or ContractCancelled + Unknown with
``require_registered_contract``. Registry answers are cached for ``contract_cache_ttl`` seconds.

**Both.** A request with a certificate and hash data is answered for the certificate (it proves
more); the hash data is not looked at.

**Other requests.** An ``eMAID`` token without certificate or hash data (the charger validated the
contract offline) gets the registry's status without certificateStatus: Accepted, Blocked, Expired
or Unknown. Other token types get ``Unknown``: the bridge keeps no RFID token list (in proxy mode
the upstream CSMS answers those).

Speed: a chain's verdict is cached (keyed by the PEM text) for as long as its certificates are
within their validity and no revocation happened; a repeated Authorize costs dictionary look-ups.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import hashlib
import itertools
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select

from pki.certid import CertId
from pki.certinfo import CertInfo, load_pem_chain
from pki.contracts import ContractRecord, ContractRegistry, ContractStatus, canonical_emaid
from pki.errors import CertificateParseError, IdentifierError, OcspError
from pki.profiles import ProfileName, Role
from pki.revocation import CertStatus, RevocationReason, RevocationStatus
from pki.store import Store
from pki.store.models import Base, Certificate, Revocation
from pki.validation import Verdict, VerdictStatus, validate_chain
from pnc.core.errors import OcspUnavailable, PayloadError
from pnc.core.home_trust import HomeTrust, OwnCa, RevocationEpoch
from pnc.core.ocsp_client import OcspClient, Offload
from pnc.core.payloads import list_field, object_field, require_object, required_text, text_field

EMAID_TYPE = "eMAID"  # IdTokenEnumType of contract identifiers
MAX_ID_TOKEN = 36  # IdTokenType.idToken (OCPP 2.0.1)
MAX_TOKEN_TYPE = 20  # an enum in 2.0.1, a string of at most 20 characters in 2.1
MAX_CERTIFICATE_CHARS = 10_000  # 5500 in OCPP 2.0.1, 10000 in 2.1: the adapters enforce theirs
MAX_CHAIN_CERTIFICATES = 4  # leaf, two sub-CAs and (tolerated) the root
MAX_HASH_DATA = 4
MAX_HASH_TEXT = 128
MAX_SERIAL = 40
MAX_URL = 512
MAX_CACHED_CHAINS = 50_000
CONTRACT_CACHE_TTL = 2.0


class CertificateStatus(enum.StrEnum):
    """AuthorizeCertificateStatusEnumType."""

    ACCEPTED = "Accepted"
    SIGNATURE_ERROR = "SignatureError"  # not used (errata 2023-12)
    CERTIFICATE_EXPIRED = "CertificateExpired"
    CERTIFICATE_REVOKED = "CertificateRevoked"
    NO_CERTIFICATE_AVAILABLE = "NoCertificateAvailable"  # not used (errata 2023-12)
    CERT_CHAIN_ERROR = "CertChainError"
    CONTRACT_CANCELLED = "ContractCancelled"


class TokenStatus(enum.StrEnum):
    """AuthorizationStatusEnumType (the values Authorize answers here)."""

    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"
    UNKNOWN = "Unknown"


@dataclass(frozen=True)
class AuthorizeResult:
    """The answer and why: ``detail`` is for logs and the REST API, never sent to the charger."""

    token_status: TokenStatus
    certificate_status: CertificateStatus | None
    detail: str
    emaid: str | None = None

    def payload(self) -> dict[str, Any]:
        """AuthorizeResponse as camelCase JSON."""
        out: dict[str, Any] = {"idTokenInfo": {"status": self.token_status.value}}
        if self.certificate_status is not None:
            out["certificateStatus"] = self.certificate_status.value
        return out


def _chain_error(detail: str, emaid: str | None = None) -> AuthorizeResult:
    return AuthorizeResult(TokenStatus.INVALID, CertificateStatus.CERT_CHAIN_ERROR, detail, emaid)


def _expired(detail: str, emaid: str | None = None) -> AuthorizeResult:
    return AuthorizeResult(TokenStatus.EXPIRED, CertificateStatus.CERTIFICATE_EXPIRED, detail, emaid)


def _revoked(detail: str, emaid: str | None = None) -> AuthorizeResult:
    return AuthorizeResult(TokenStatus.INVALID, CertificateStatus.CERTIFICATE_REVOKED, detail, emaid)


# -- the request ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HashEntry:
    cert_id: CertId
    responder_url: str


@dataclass(frozen=True)
class AuthorizeRequest:
    id_token: str
    token_type: str
    certificate: str | None
    hash_data: tuple[HashEntry, ...]

    @property
    def is_pnc(self) -> bool:
        return self.certificate is not None or bool(self.hash_data)


def parse_authorize(payload: object) -> AuthorizeRequest:
    """Read an AuthorizeRequest; :class:`PayloadError` names the first field that is wrong."""
    body = require_object(payload)
    token = object_field(body, "idToken")
    assert token is not None
    id_token = required_text(token, "idToken", path="idToken.", max_length=MAX_ID_TOKEN)
    token_type = required_text(token, "type", path="idToken.", max_length=MAX_TOKEN_TYPE)
    certificate = text_field(body, "certificate", max_length=MAX_CERTIFICATE_CHARS, required=False)
    entries = list_field(body, "iso15118CertificateHashData", min_items=1, max_items=MAX_HASH_DATA)
    hash_data = tuple(
        parse_hash_entry(entry, f"iso15118CertificateHashData[{i}].") for i, entry in enumerate(entries or ())
    )
    if (certificate is not None or hash_data) and token_type != EMAID_TYPE:
        raise PayloadError(
            "idToken.type", f"must be eMAID with a contract certificate or hash data, got {token_type!r}"
        )
    return AuthorizeRequest(id_token, token_type, certificate, hash_data)


def parse_hash_entry(entry: object, path: str) -> HashEntry:
    """One OCSPRequestDataType: hex hashes of the digest's length, hex serial without leading zeros."""
    data = require_object(entry, path.rstrip("."))
    for name, limit in (
        ("hashAlgorithm", 6),
        ("issuerNameHash", MAX_HASH_TEXT),
        ("issuerKeyHash", MAX_HASH_TEXT),
        ("serialNumber", MAX_SERIAL),
    ):
        required_text(data, name, path=path, max_length=limit)
    url = required_text(data, "responderURL", path=path, max_length=MAX_URL)
    serial = data["serialNumber"]
    if len(serial) > 1 and serial[0] == "0":
        raise PayloadError(
            path + "serialNumber",
            f"{serial!r} has leading zeros; OCPP 2.0.1 (errata 2023-12) writes the serial as hex without them",
        )
    try:
        cert_id = CertId.from_ocpp(data)
    except OcspError as exc:
        field_name = next(
            (
                n
                for n in ("hashAlgorithm", "issuerNameHash", "issuerKeyHash", "serialNumber")
                if n in str(exc)
            ),
            "",
        )
        raise PayloadError(path + field_name if field_name else path.rstrip("."), str(exc)) from None
    return HashEntry(cert_id, url)


def _emaid_of_token(id_token: str) -> str:
    try:
        return canonical_emaid(id_token)
    except IdentifierError as exc:
        raise PayloadError("idToken.idToken", f"not an eMAID: {exc.detail}") from None


# -- the use case --------------------------------------------------------------------------------


_EARLIEST = dt.datetime.min.replace(tzinfo=dt.UTC)
_LATEST = dt.datetime.max.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class _ChainCheck:
    """What validating one PEM chain found, cached under a revocation epoch and a validity window."""

    failure: AuthorizeResult | None
    emaid: str | None
    foreign: tuple[tuple[CertInfo, CertInfo], ...] = ()  # (certificate, issuer) to ask OCSP about
    epoch: tuple[int, int] = (0, 0)
    valid_from: dt.datetime = _EARLIEST
    valid_until: dt.datetime = _LATEST
    cacheable: bool = True


@dataclass
class _OwnStatus:
    """A certificate of one of our CAs, as the store knows it (cached per revocation epoch)."""

    found: bool
    revoked_at: dt.datetime | None = None
    reason: str | None = None
    not_before: dt.datetime | None = None
    not_after: dt.datetime | None = None
    epoch: tuple[int, int] = field(default=(0, 0))


class Authorizer:
    """Authorize for one home. Thread-safe caches; ``offload`` runs store and CPU work off the loop."""

    def __init__(
        self,
        *,
        trust: HomeTrust,
        store: Store,
        registry: ContractRegistry,
        ocsp: OcspClient,
        epoch: RevocationEpoch,
        clock: Callable[[], dt.datetime],
        offload: Offload[Any],
        require_registered_contract: bool = False,
        contract_cache_ttl: float = CONTRACT_CACHE_TTL,
    ) -> None:
        self.trust = trust
        self.store = store
        self.registry = registry
        self.ocsp = ocsp
        self.epoch = epoch
        self.clock = clock
        self._offload = offload
        self.require_registered_contract = require_registered_contract
        self.contract_cache_ttl = contract_cache_ttl
        self._chains: dict[bytes, _ChainCheck] = {}
        self._own: dict[tuple[int, int], _OwnStatus] = {}
        self._contracts: dict[str, tuple[ContractRecord | None, float]] = {}
        self._lock = threading.Lock()

    def forget_contract(self, emaid: str | None = None) -> None:
        """Drop cached registry answers (one eMAID, or all): call after changing the registry."""
        if emaid is None:
            self._contracts.clear()
            return
        try:
            self._contracts.pop(canonical_emaid(emaid), None)
        except IdentifierError:
            self._contracts.clear()  # a spelling the registry would not take: forget everything

    async def authorize(self, payload: Mapping[str, Any]) -> AuthorizeResult:
        request = parse_authorize(payload)
        if request.certificate is not None:
            return await self._with_certificate(request, request.certificate)
        if request.hash_data:
            return await self._with_hash_data(request)
        return await self._token_only(request)

    # -- certificate

    async def _with_certificate(self, request: AuthorizeRequest, pem: str) -> AuthorizeResult:
        token_emaid = _emaid_of_token(request.id_token)  # a malformed token costs no validation
        key = hashlib.sha256(pem.encode("utf-8", "surrogatepass")).digest()
        now = self.clock()
        check = self._cached_chain(key, now)
        if check is None:
            check = await self._offload(lambda: self._check_chain(key, pem, prefetch=True))
        if check.failure is not None:
            return check.failure
        emaid = check.emaid
        assert emaid is not None
        if token_emaid != emaid:
            return _chain_error(
                f"the contract certificate is for eMAID {emaid}, the idToken is {request.id_token!r}", emaid
            )
        if check.foreign:
            failure = await self._foreign_revocation(check.foreign, now, emaid)
            if failure is not None:
                return failure
        return await self._contract_decision(emaid, "the contract chain is valid")

    def _cached_chain(self, key: bytes, now: dt.datetime) -> _ChainCheck | None:
        check = self._chains.get(key)
        if check is None:
            return None
        token = self.epoch.fresh()
        if token is None or token != check.epoch or not check.valid_from <= now <= check.valid_until:
            return None
        return check

    def _check_chain(self, key: bytes, pem: str, *, prefetch: bool = False) -> _ChainCheck:
        """Parse and validate (a worker thread's job); cache what may be cached. With
        ``prefetch`` the contract of a valid chain is read too (one trip to the thread pool)."""
        epoch = self.epoch.current()
        cached = self._chains.get(key)
        if (
            cached is not None
            and cached.epoch == epoch
            and cached.valid_from <= self.clock() <= cached.valid_until
        ):
            check = cached  # only the epoch needed reading: nothing was revoked since
        else:
            check = self._validate(pem, epoch)
        if check.cacheable and check is not cached:
            with self._lock:
                if len(self._chains) >= MAX_CACHED_CHAINS:
                    self._chains.clear()
                self._chains[key] = check
        if prefetch and check.failure is None and check.emaid is not None:
            self._contract_now(check.emaid)
        return check

    def _validate(self, pem: str, epoch: tuple[int, int]) -> _ChainCheck:
        try:
            ders = load_pem_chain(pem)
        except CertificateParseError as exc:
            raise PayloadError("certificate", f"not a PEM certificate chain: {exc}") from None
        if len(ders) > MAX_CHAIN_CERTIFICATES:
            return _ChainCheck(
                _chain_error(
                    f"the chain has {len(ders)} certificates; a contract chain has at most "
                    f"{MAX_CHAIN_CERTIFICATES} (leaf, two sub-CAs, root)"
                ),
                None,
                epoch=epoch,
            )
        now = self.clock()
        unknown_own: list[str] = []
        chain = [*ders, *(d for d in self.trust.contract_intermediates if d not in ders)]

        def revocation(cert: CertInfo, issuer: CertInfo) -> RevocationStatus | None:
            own = self.trust.own_ca_of_der(issuer.der)
            if own is None:
                return None  # another CA's certificate: OCSP, after validation
            status = self._own_status(own, cert.serial, epoch)
            if not status.found:
                unknown_own.append(f"{cert.subject} (serial {cert.serial_hex}) is signed by {own.name}")
                return None
            if status.revoked_at is None:
                return RevocationStatus(CertStatus.GOOD)
            reason = RevocationReason(status.reason) if status.reason else None
            return RevocationStatus(CertStatus.REVOKED, status.revoked_at, reason)

        leaf_profile = _profile_of(ders[0])
        verdict = validate_chain(
            chain,
            self.trust.contract_trust,
            now,
            expected_leaf_role=Role.CONTRACT,
            revocation=revocation,
            profile=leaf_profile,
        )
        if not verdict.ok or verdict.leaf is None:
            return _ChainCheck(
                _failure_of(verdict), None, epoch=epoch, cacheable=verdict.status not in _TIME_DEPENDENT
            )
        try:
            emaid = canonical_emaid(verdict.leaf.common_name)
        except IdentifierError as exc:
            return _ChainCheck(_chain_error(f"the contract certificate's CN: {exc}"), None, epoch=epoch)
        if unknown_own:
            return _ChainCheck(
                _chain_error(f"{unknown_own[0]} but is not in its store", emaid),
                emaid,
                epoch=epoch,
                cacheable=False,
            )
        path = verdict.chain
        for cert in path[1:]:
            self.trust.known.add(cert)  # to verify OCSP answers about this CA's certificates later
        foreign = tuple(
            (cert, issuer)
            for cert, issuer in itertools.pairwise(path)
            if self.trust.own_ca_of_der(issuer.der) is None and cert.ocsp_urls
        )
        return _ChainCheck(
            None,
            emaid,
            foreign,
            epoch=epoch,
            valid_from=max(c.not_before for c in path),
            valid_until=min(c.not_after for c in path),
        )

    def _own_status(self, own: OwnCa, serial: int, epoch: tuple[int, int]) -> _OwnStatus:
        key = (own.id, serial)
        hit = self._own.get(key)
        if hit is not None and hit.epoch == epoch:
            return hit
        with self.store.engine.connect() as conn:
            row = conn.execute(_OWN_CERTIFICATE, {"serial": format(serial, "x"), "ca": own.id}).first()
        if row is None:
            return _OwnStatus(False)  # not cached: another process may issue it any moment
        not_before, not_after, revoked_at, reason = row
        status = _OwnStatus(True, revoked_at, reason, not_before, not_after, epoch)
        with self._lock:
            if len(self._own) >= MAX_CACHED_CHAINS:
                self._own.clear()
            self._own[key] = status
        return status

    async def _foreign_revocation(
        self, foreign: tuple[tuple[CertInfo, CertInfo], ...], now: dt.datetime, emaid: str | None
    ) -> AuthorizeResult | None:
        async def one(cert: CertInfo, issuer: CertInfo) -> AuthorizeResult | None:
            cert_id = CertId.for_issuer(issuer.subject_der, issuer.public_key_der, cert.serial, "SHA1")
            try:
                answer = await self.ocsp.answer(cert_id, cert.ocsp_urls[0], issuer=issuer)
            except OcspUnavailable as exc:
                return _chain_error(f"no revocation status for {cert.subject}: {exc.detail}", emaid)
            return _ocsp_outcome(
                answer.single.cert_status, answer.single.revoked_at, now, str(cert.subject), emaid
            )

        results = await asyncio.gather(*(one(c, i) for c, i in foreign))
        return next((r for r in results if r is not None), None)

    # -- hash data

    async def _with_hash_data(self, request: AuthorizeRequest) -> AuthorizeResult:
        emaid = _emaid_of_token(request.id_token)
        now = self.clock()
        outcomes: list[AuthorizeResult | None] = [None] * len(request.hash_data)
        token = self.epoch.fresh()
        missing: list[tuple[int, OwnCa, CertId]] = []
        foreign: list[tuple[int, HashEntry]] = []
        for index, entry in enumerate(request.hash_data):
            own = self.trust.own_issuer(entry.cert_id)
            if own is None:
                foreign.append((index, entry))
                continue
            status = self._own.get((own.id, entry.cert_id.serial))
            if status is None or token is None or status.epoch != token:
                missing.append((index, own, entry.cert_id))
            else:
                outcomes[index] = _own_outcome(own, entry.cert_id, status, now, emaid)
        if missing:  # one trip to the thread pool for every entry of ours the cache lacks

            def look_up() -> list[_OwnStatus]:
                epoch = self.epoch.current()
                return [self._own_status(own, cert_id.serial, epoch) for _, own, cert_id in missing]

            statuses = await self._offload(look_up)
            for (index, own, cert_id), status in zip(missing, statuses, strict=True):
                outcomes[index] = _own_outcome(own, cert_id, status, now, emaid)
        if foreign:

            async def ask(entry: HashEntry) -> AuthorizeResult | None:
                what = f"serial {entry.cert_id.serial_hex}"
                try:
                    answer = await self.ocsp.answer(entry.cert_id, entry.responder_url)
                except OcspUnavailable as exc:
                    return _chain_error(f"no revocation status for {what}: {exc.detail}", emaid)
                single = answer.single
                return _ocsp_outcome(single.cert_status, single.revoked_at, now, what, emaid)

            answers = await asyncio.gather(*(ask(entry) for _, entry in foreign))
            for (index, _), outcome in zip(foreign, answers, strict=True):
                outcomes[index] = outcome
        failure = next((r for r in outcomes if r is not None), None)
        if failure is not None:
            return failure
        return await self._contract_decision(emaid, "the hash data's certificates are good")

    # -- the contract

    async def _token_only(self, request: AuthorizeRequest) -> AuthorizeResult:
        if request.token_type != EMAID_TYPE:
            return AuthorizeResult(
                TokenStatus.UNKNOWN, None, f"no token list for {request.token_type} tokens here"
            )
        emaid = _emaid_of_token(request.id_token)
        record = await self._contract(emaid)
        if record is None:
            return AuthorizeResult(TokenStatus.UNKNOWN, None, f"eMAID {emaid} is not in the registry", emaid)
        status = record.effective_status(self.clock())
        token = {
            ContractStatus.ACTIVE: TokenStatus.ACCEPTED,
            ContractStatus.BLOCKED: TokenStatus.BLOCKED,
            ContractStatus.EXPIRED: TokenStatus.EXPIRED,
        }[status]
        return AuthorizeResult(token, None, f"contract {emaid} is {status.value}", emaid)

    async def _contract_decision(self, emaid: str, why: str) -> AuthorizeResult:
        record = await self._contract(emaid)
        if record is None:
            if self.require_registered_contract:
                return AuthorizeResult(
                    TokenStatus.UNKNOWN,
                    CertificateStatus.CONTRACT_CANCELLED,
                    f"{why}, but eMAID {emaid} is not in the registry (registration required)",
                    emaid,
                )
            return AuthorizeResult(
                TokenStatus.ACCEPTED,
                CertificateStatus.ACCEPTED,
                f"{why}; eMAID {emaid} not registered",
                emaid,
            )
        status = record.effective_status(self.clock())
        if status is ContractStatus.ACTIVE:
            return AuthorizeResult(
                TokenStatus.ACCEPTED, CertificateStatus.ACCEPTED, f"{why}; contract {emaid} is active", emaid
            )
        token = TokenStatus.BLOCKED if status is ContractStatus.BLOCKED else TokenStatus.EXPIRED
        return AuthorizeResult(
            token,
            CertificateStatus.CONTRACT_CANCELLED,
            f"{why}, but contract {emaid} is {status.value}",
            emaid,
        )

    async def _contract(self, emaid: str) -> ContractRecord | None:
        hit = self._contracts.get(emaid)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        record: ContractRecord | None = await self._offload(lambda: self._contract_now(emaid, fresh=True))
        return record

    def _contract_now(self, emaid: str, *, fresh: bool = False) -> ContractRecord | None:
        """The registry's record (a worker thread's job), cached for ``contract_cache_ttl``."""
        hit = self._contracts.get(emaid)
        if not fresh and hit is not None and hit[1] > time.monotonic():
            return hit[0]
        record = self.registry.find(emaid)
        if len(self._contracts) >= MAX_CACHED_CHAINS:
            self._contracts.clear()
        self._contracts[emaid] = (record, time.monotonic() + self.contract_cache_ttl)
        return record


def _own_outcome(
    own: OwnCa, cert_id: CertId, status: _OwnStatus, now: dt.datetime, emaid: str
) -> AuthorizeResult | None:
    """A hash-data entry of one of our CAs, judged from the store's record."""
    what = f"serial {cert_id.serial_hex} of {own.name}"
    if not status.found:
        return _chain_error(f"{own.name} never issued serial {cert_id.serial_hex}", emaid)
    assert status.not_before is not None and status.not_after is not None
    if now > status.not_after:
        return _expired(f"{what} expired {status.not_after:%Y-%m-%d %H:%M:%S}Z", emaid)
    if now < status.not_before:
        return _chain_error(f"{what} is valid from {status.not_before:%Y-%m-%d %H:%M:%S}Z", emaid)
    if status.revoked_at is not None and status.revoked_at <= now:
        return _revoked(f"{what} was revoked ({status.reason})", emaid)
    return None


_CERTS = Base.metadata.tables[Certificate.__tablename__]
_REVOCATIONS = Base.metadata.tables[Revocation.__tablename__]
# what Authorize needs of one certificate of one of our CAs: one indexed look-up, no ORM
_OWN_CERTIFICATE = (
    select(_CERTS.c.not_before, _CERTS.c.not_after, _REVOCATIONS.c.revoked_at, _REVOCATIONS.c.reason)
    .select_from(_CERTS.outerjoin(_REVOCATIONS, _REVOCATIONS.c.certificate_id == _CERTS.c.id))
    .where(_CERTS.c.serial_hex == bindparam("serial"), _CERTS.c.issuer_ca_id == bindparam("ca"))
)

_TIME_DEPENDENT = frozenset({VerdictStatus.EXPIRED, VerdictStatus.NOT_YET_VALID})


def _failure_of(verdict: Verdict) -> AuthorizeResult:
    detail = f"contract chain: {verdict}"
    if verdict.status is VerdictStatus.EXPIRED:
        return _expired(detail)
    if verdict.status is VerdictStatus.REVOKED:
        return _revoked(detail)
    return _chain_error(detail)


def _ocsp_outcome(
    status: CertStatus, revoked_at: dt.datetime | None, now: dt.datetime, what: str, emaid: str | None
) -> AuthorizeResult | None:
    if status is CertStatus.REVOKED and (revoked_at is None or revoked_at <= now):
        return _revoked(f"{what} is revoked (OCSP)", emaid)
    if status is CertStatus.UNKNOWN:
        return _chain_error(f"the OCSP responder does not know {what}", emaid)
    return None


def _profile_of(leaf_der: bytes) -> ProfileName:
    """The profile whose algorithms the chain must use: ISO 15118-2 for P-256, else -20."""
    from pki.algorithms import Algorithm
    from pki.certinfo import parse_certificate

    try:
        algorithm = parse_certificate(leaf_der).key_algorithm
    except CertificateParseError:
        return ProfileName.ISO15118_2
    return (
        ProfileName.ISO15118_20 if algorithm in (Algorithm.P521, Algorithm.ED448) else ProfileName.ISO15118_2
    )


__all__ = [
    "AuthorizeRequest",
    "AuthorizeResult",
    "Authorizer",
    "CertificateStatus",
    "HashEntry",
    "TokenStatus",
    "parse_authorize",
    "parse_hash_entry",
]
