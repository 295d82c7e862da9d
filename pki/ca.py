"""The CA service: the init ceremony, leaf issuance, revocation, CRLs, listing, roots.

It ties the pure core (profiles, issuance, CSR checks, CRL building) to the home (configuration,
encrypted keys or a PKCS#11 token) and the store. Rules it keeps:

- Validate everything before writing anything: an operation either completes, with its audit entry,
  in one committed transaction, or changes nothing.
- Issuance and revocation are committed (durably: SQLite WAL with synchronous=FULL, or PostgreSQL)
  before the call returns.
- Every issuance, revocation, CRL and use of a CA key is audited with the actor (``$PNC_ACTOR``, else
  the OS user) and the time.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization

from pki.algorithms import Algorithm, PrivateKey
from pki.ceremony import entity_name, run_ceremony
from pki.crl import RevokedEntry, build_crl
from pki.errors import AlreadyExistsError, KeyStoreError, NotFoundError, PkiError
from pki.home import Home, HomeConfig
from pki.hsm import Token
from pki.issuance import IssueRequest, issue, new_serial
from pki.keystore import load_signer
from pki.profiles import (
    CA_ROLES,
    ISSUABLE_LEAF_ROLES,
    ISSUER_OF,
    ROOT_ROLES,
    ProfileName,
    Role,
    profile_for,
)
from pki.revocation import RevocationReason
from pki.signer import Signer
from pki.store import CaRecord, CertificateRecord, Store, Transaction, parse_serial, serial_hex

ACTOR_ENV = "PNC_ACTOR"
SERIAL_ATTEMPTS = 8
CRL_VALIDITY = dt.timedelta(days=7)


def default_actor() -> str:
    """Who is acting: ``$PNC_ACTOR``, else the OS user."""
    actor = os.environ.get(ACTOR_ENV)
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse_reason(text: str) -> RevocationReason:
    """A revocation reason in RFC 5280's camelCase (``keyCompromise``) or kebab case (``key-compromise``)."""
    return RevocationReason.parse(text)


@dataclass(frozen=True)
class IssuedCertificate:
    """A leaf the CA issued, with its chain (sub-CAs, no root) and, when the CA made it, its key."""

    serial: str
    subject: str
    role: Role
    profile: ProfileName
    certificate: bytes
    chain: tuple[bytes, ...]
    not_after: dt.datetime
    private_key: PrivateKey | None = None

    def chain_pem(self) -> bytes:
        """PEM: the leaf followed by its sub-CAs (no root), as OCPP CertificateSigned sends it."""
        return b"".join(_pem(der) for der in (self.certificate, *self.chain))


def _pem(der: bytes) -> bytes:
    from cryptography import x509

    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)


class CaService:
    """The CA of one home. ``passphrase`` is asked for only when a CA key file must be read or written."""

    def __init__(
        self,
        home: Home,
        *,
        db_url: str | None = None,
        passphrase: Callable[[], bytes] | None = None,
        actor: str | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.home = home
        self._db_url = db_url
        self._passphrase_source = passphrase
        self._passphrase: bytes | None = None
        self.actor = actor or default_actor()
        self.clock = clock
        self._store: Store | None = None
        self._config: HomeConfig | None = None
        self._signers: dict[str, Signer] = {}
        self._lock = threading.Lock()
        self._revoke_listeners: list[Callable[[], None]] = []
        self._cas: dict[str, CaRecord] = {}
        self._chains: dict[str, tuple[bytes, ...]] = {}

    # -- plumbing

    @property
    def config(self) -> HomeConfig:
        if self._config is None:
            self._config = self.home.load()
        return self._config

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.home.store_url(self.config, self._db_url))
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> CaService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def passphrase(self) -> bytes:
        if self._passphrase is None:
            if self._passphrase_source is None:
                raise KeyStoreError("a passphrase is needed for the CA keys (PNC_CA_PASSPHRASE)")
            self._passphrase = self._passphrase_source()
        return self._passphrase

    def key_label(self, name: str) -> str:
        """The PKCS#11 label of a key of this home (the home's id keeps homes on one token apart)."""
        return f"pnc-{self.config.home_id}-{name.replace('/', '-')}"

    def signer(self, name: str) -> Signer:
        """The signer of a CA or responder of this home (loaded once per process)."""
        with self._lock:
            cached = self._signers.get(name)
            if cached is not None:
                return cached
            record = self._ca(name)
            signer = self._open_signer(record.key_ref)
            if signer.public_key_der() != _spki(record.certificate_der):
                raise KeyStoreError(f"the key of {name} ({record.key_ref}) does not match its certificate")
            self._signers[name] = signer
            return signer

    def _ca(self, name: str) -> CaRecord:
        """A CA record by name (cached: a CA's record does not change once the ceremony wrote it)."""
        record = self._cas.get(name)
        if record is None:
            record = self._cas[name] = self.store.ca(name)
        return record

    def _open_signer(self, key_ref: str) -> Signer:
        if key_ref.startswith("file:"):
            return load_signer(self.home.path / key_ref.removeprefix("file:"), self.passphrase())
        if key_ref.startswith("pkcs11:"):
            fields = dict(part.split("=", 1) for part in key_ref.removeprefix("pkcs11:").split(";"))
            hsm = self.config.hsm
            if hsm is None or hsm.token_label != fields.get("token"):
                raise KeyStoreError(f"key {key_ref} is in a PKCS#11 token this home is not configured for")
            return Token.from_settings(hsm).signer(fields["object"])
        raise KeyStoreError(f"unknown key reference {key_ref!r}")

    def profiles(self) -> list[ProfileName]:
        return [ProfileName(p) for p in sorted(self.config.profiles)]

    def resolve_profile(self, profile: ProfileName | str | None) -> ProfileName:
        """``profile``, or the home's default: ISO 15118-2 when initialised, else the only profile."""
        known = self.profiles()
        if profile is not None:
            name = ProfileName(profile)
            if name not in known:
                raise NotFoundError(f"profile {name} is not initialised in {self.home.path}")
            return name
        if ProfileName.ISO15118_2 in known:
            return ProfileName.ISO15118_2
        if len(known) == 1:
            return known[0]
        raise NotFoundError(f"no profile is initialised in {self.home.path}")

    def audit(self, tx: Transaction, action: str, **fields: Any) -> None:
        """Add an audit entry (actor, time) to the transaction ``tx``."""
        tx.audit(at=self.clock(), actor=self.actor, action=action, **fields)

    def record_key_use(self, action: str, names: list[str]) -> None:
        """Audit that a process put these keys to use (e.g. an OCSP responder loaded them)."""
        with self.store.transaction() as tx:
            self.audit(tx, action, details={"keys": names, "pid": os.getpid()})

    def on_revoke(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every revocation committed through this service (cache invalidation)."""
        self._revoke_listeners.append(listener)

    init = run_ceremony  # the key ceremony: pki/ceremony.py

    def adopt_config(self, config: HomeConfig) -> None:
        """Use ``config`` (the ceremony's, before it is saved) instead of reading the home's."""
        self._config = config

    # -- leaves

    def issue_leaf(
        self,
        role: Role,
        identifier: str,
        *,
        profile: ProfileName | str | None = None,
        csr: bytes | None = None,
        validity_days: int | None = None,
        record_also: Callable[[Transaction, str], object] | None = None,
    ) -> IssuedCertificate:
        """Issue a SECC, contract, OEM provisioning or charging-station certificate.

        ``record_also(tx, serial)`` writes what the caller keeps about the issuance (the contract
        registry's installation record) in the same durable transaction as the certificate, so
        both exist or neither does, for the price of one commit.
        """
        if role not in ISSUABLE_LEAF_ROLES:
            raise PkiError(
                f"'pnc pki issue' makes {', '.join(sorted(ISSUABLE_LEAF_ROLES))} certificates, not {role}"
            )
        name = self.resolve_profile(profile)
        settings = self.config.profiles[name.value]
        cert_profile = profile_for(name, role)
        issuer_role = ISSUER_OF[role]
        assert issuer_role is not None
        issuer = self._ca(entity_name(name, issuer_role))
        subject = cert_profile.make_subject(
            identifier,
            settings.organization if cert_profile.requires_organization else None,
            settings.country if cert_profile.requires_country else None,
        )
        key: PrivateKey | None = None
        if csr is not None:
            from pki.csr import check_csr

            info = check_csr(csr, role, name)
            if info.subject.common_name != subject.common_name:
                raise PkiError(
                    f"the CSR's subject CN {info.subject.common_name!r} does not match the requested {subject.common_name!r}"
                )
            public_key_der = info.public_key_der
        else:
            key = Algorithm(settings.algorithm).generate()
            public_key_der = key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        not_before, not_after = cert_profile.validity(
            self.clock(), validity_days, issuer_not_after=issuer.not_after
        )
        signer = self.signer(issuer.name)
        chain = self._chain_above(issuer)
        subject_text = subject.rfc4514()
        details = {
            "role": role.value,
            "profile": name.value,
            "issuer": issuer.name,
            "key": issuer.key_ref,  # the CA key this issuance used
            "csr": csr is not None,
        }
        for _attempt in range(SERIAL_ATTEMPTS):
            request = IssueRequest(
                role=role,
                subject=subject,
                public_key_der=public_key_der,
                not_before=not_before,
                not_after=not_after,
                serial=new_serial(),
                ocsp_url=settings.ocsp_url if cert_profile.ocsp_url_required else None,
            )
            der = issue(request, cert_profile, issuer.certificate_der, signer)
            serial = serial_hex(request.serial)

            def record(tx: Transaction, serial: str = serial, der: bytes = der) -> None:
                tx.add_certificate(
                    serial=serial,
                    issuer_ca_id=issuer.id,
                    profile=name.value,
                    role=role.value,
                    subject=subject_text,
                    not_before=not_before,
                    not_after=not_after,
                    der=der,
                    issued_at=self.clock(),
                )
                self.audit(tx, "issue", subject=subject_text, serial=serial, details=details)
                if record_also is not None:
                    record_also(tx, serial)

            try:
                self.store.submit(record)  # durable when it returns (group commit)
            except AlreadyExistsError:
                continue  # a serial collision (2^-64 odds): sign again with a fresh serial
            return IssuedCertificate(
                serial=serial,
                subject=subject.rfc4514(),
                role=role,
                profile=name,
                certificate=der,
                chain=chain,
                not_after=not_after,
                private_key=key,
            )
        raise AlreadyExistsError(f"no unused serial number after {SERIAL_ATTEMPTS} attempts")

    def _chain_above(self, issuer: CaRecord) -> tuple[bytes, ...]:
        """The issuer and its sub-CAs up to, not including, the root."""
        cached = self._chains.get(issuer.name)
        if cached is not None:
            return cached
        chain: list[bytes] = []
        record = issuer
        while Role(record.role) not in ROOT_ROLES:
            chain.append(record.certificate_der)
            parent = ISSUER_OF[Role(record.role)]
            assert parent is not None
            record = self._ca(entity_name(record.profile, parent))
        self._chains[issuer.name] = tuple(chain)
        return self._chains[issuer.name]

    # -- revocation

    def revoke(
        self,
        serial: str,
        reason: RevocationReason | str,
        *,
        at: dt.datetime | None = None,
        record_also: Callable[[Transaction], object] | None = None,
    ) -> CertificateRecord:
        """Revoke a certificate; committed before this returns (with ``record_also(tx)``, the
        caller's own bookkeeping of the revocation, in the same transaction)."""
        canonical = parse_serial(serial)
        why = parse_reason(reason) if isinstance(reason, str) else reason
        when = (at or self.clock()).replace(microsecond=0)
        record = self.store.certificate(canonical)  # NotFoundError before anything is written

        def revoke(tx: Transaction) -> None:
            tx.revoke(canonical, revoked_at=when, reason=why.value)
            self.audit(
                tx,
                "revoke",
                subject=record.subject,
                serial=canonical,
                details={"reason": why.value, "revoked_at": when.isoformat()},
            )
            if record_also is not None:
                record_also(tx)

        self.store.submit(revoke)  # durable when it returns
        for listener in self._revoke_listeners:
            listener()
        return self.store.certificate(canonical)

    def ca_record(self, name: str, profile: ProfileName | str | None = None) -> CaRecord:
        """A CA by its full name (``iso15118-2/mo-sub2``) or by role within ``profile``."""
        if "/" in name:
            return self._ca(name)
        try:
            role = Role(name)
        except ValueError:
            raise NotFoundError(
                f"no CA named {name!r}; CAs are {', '.join(sorted(r.value for r in CA_ROLES))}"
            ) from None
        if role not in CA_ROLES:
            raise NotFoundError(
                f"{name} is not a CA role; CAs are {', '.join(sorted(r.value for r in CA_ROLES))}"
            )
        return self._ca(entity_name(self.resolve_profile(profile), role))

    def crl(
        self, ca: str, *, profile: ProfileName | str | None = None, validity: dt.timedelta = CRL_VALIDITY
    ) -> bytes:
        """A fresh CRL of the CA (DER), with the next CRL number; the key use is audited."""
        record = self.ca_record(ca, profile)
        if Role(record.role) not in CA_ROLES:
            raise PkiError(f"{record.name} is not a CA")
        signer = self.signer(record.name)
        entries = [
            RevokedEntry(serial=int(s, 16), revoked_at=at, reason=RevocationReason(reason))
            for s, at, reason in self.store.revoked_entries(record.id)
        ]
        this_update = self.clock().replace(microsecond=0)
        next_update = this_update + validity
        with self.store.transaction() as tx:
            number = tx.next_crl_number(record.id, this_update, next_update)
            der: bytes = build_crl(record.certificate_der, signer, entries, this_update, next_update, number)
            self.audit(
                tx,
                "crl",
                subject=record.name,
                details={"crl_number": number, "entries": len(entries), "key": record.key_ref},
            )
        return der

    # -- reading

    def list_certificates(
        self,
        *,
        role: str | None = None,
        expiring_days: int | None = None,
        revoked: bool = False,
        profile: str | None = None,
    ) -> list[CertificateRecord]:
        if role is not None:
            try:
                Role(role)
            except ValueError:
                raise PkiError(
                    f"unknown role {role!r}; roles are {', '.join(r.value for r in Role)}"
                ) from None
        before = self.clock() + dt.timedelta(days=expiring_days) if expiring_days is not None else None
        return self.store.certificates(
            role=role, profile=profile, expiring_before=before, revoked=True if revoked else None
        )

    def show(self, serial: str) -> CertificateRecord:
        return self.store.certificate(parse_serial(serial))

    def roots(self, profile: ProfileName | str | None = None) -> dict[Role, bytes]:
        """Every root certificate (DER) of the profile, by role."""
        name = self.resolve_profile(profile)
        return {
            Role(ca.role): ca.certificate_der
            for ca in self.store.cas(name.value)
            if Role(ca.role) in ROOT_ROLES
        }

    def responders(self) -> Iterable[tuple[CaRecord, CaRecord]]:
        """(CA, its delegated OCSP responder) for every CA of the home."""
        by_name = {ca.name: ca for ca in self.store.cas()}
        for ca in by_name.values():
            responder = by_name.get(ca.name + "/ocsp")
            if responder is not None and Role(ca.role) in CA_ROLES:
                yield ca, responder


def _spki(certificate_der: bytes) -> bytes:
    from cryptography import x509

    return (
        x509.load_der_x509_certificate(certificate_der)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


__all__ = [
    "CaService",
    "IssuedCertificate",
    "default_actor",
    "entity_name",
    "parse_reason",
]
