"""API keys of the operator REST API (``/v1``): create, verify, revoke, list.

A key is shown once, at creation, as ``pnc_<key id>_<secret>``: the key id is public (it names the
key in listings and in the audit log), the secret is 256 random bits. The store keeps only the
SHA-256 of the secret: a secret of that entropy cannot be guessed from its hash, so no slow KDF is
needed, and verifying a request costs one hash and a constant-time comparison. Verified keys are
cached for a few seconds per process; a revocation through this object takes effect at once in this
process and within :data:`CACHE_SECONDS` in every other process sharing the store.

Roles (design.md): ``readonly`` reads; ``operator`` also runs the Plug & Charge calls, station
commands and contract changes; ``security`` may do everything, certificate revocation included.

Creation and revocation are one committed transaction each, with an audit entry (``apikey-create``,
``apikey-revoke``) that names the key id and role, never the secret or its hash.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import DBAPIError, IntegrityError

from pki.errors import NotFoundError, StoreError
from pki.store import Store
from pki.store.database import error_summary
from pki.store.models import ApiKey, Base
from pnc.errors import PncError

if TYPE_CHECKING:
    from pki.ca import CaService

_KEYS = Base.metadata.tables[ApiKey.__tablename__]
TOKEN_PREFIX = "pnc_"  # noqa: S105 - the public prefix of every key, not a secret
KEY_ID_BYTES = 8  # 16 hex characters
SECRET_BYTES = 32  # 256 bits
CACHE_SECONDS = 5.0
MAX_LABEL = 128
_KEY_ID = re.compile(r"^[0-9a-f]{16}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{43}$")  # base64url of 32 bytes, unpadded


class ApiKeyError(PncError):
    """An API key operation is refused (unknown role, bad label, a key already revoked)."""


class InvalidApiKey(PncError):
    """A presented API key is malformed, unknown, revoked or wrong (the message never holds it)."""


class ApiRole(enum.StrEnum):
    READONLY = "readonly"
    OPERATOR = "operator"
    SECURITY = "security"

    @classmethod
    def parse(cls, text: str) -> ApiRole:
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise ApiKeyError(
                f"unknown API key role {text!r}: use one of {', '.join(r.value for r in cls)}"
            ) from None

    def allows(self, needed: ApiRole) -> bool:
        """Whether a key of this role may do what ``needed`` may (security > operator > readonly)."""
        return _RANK[self] >= _RANK[needed]


_RANK = {ApiRole.READONLY: 0, ApiRole.OPERATOR: 1, ApiRole.SECURITY: 2}


@dataclass(frozen=True)
class ApiPrincipal:
    """Who is calling: a verified, unrevoked key."""

    key_id: str
    role: ApiRole

    @property
    def actor(self) -> str:
        """The actor of this caller's audit entries."""
        return f"apikey:{self.key_id}"


@dataclass(frozen=True)
class ApiKeyRecord:
    """One key as listed (without its hash)."""

    key_id: str
    role: ApiRole
    label: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    def summary(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "role": self.role.value,
            "label": self.label,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "revoked_at": self.revoked_at.isoformat(timespec="seconds") if self.revoked_at else None,
        }


def _hash(secret: str) -> str:
    return "sha256:" + hashlib.sha256(secret.encode("ascii")).hexdigest()


def split_token(token: str) -> tuple[str, str]:
    """(key id, secret) of a ``pnc_<key id>_<secret>`` token; InvalidApiKey when it has another form."""
    text = token.strip()
    if not text.startswith(TOKEN_PREFIX):
        raise InvalidApiKey(f"an API key starts with {TOKEN_PREFIX!r}")
    key_id, sep, secret = text[len(TOKEN_PREFIX) :].partition("_")
    if not sep or not _KEY_ID.match(key_id) or not _SECRET.match(secret):
        raise InvalidApiKey("an API key has the form pnc_<16 hex digits>_<43 base64url characters>")
    return key_id, secret


def _record(row: RowMapping) -> ApiKeyRecord:
    return ApiKeyRecord(
        key_id=row["key_id"],
        role=ApiRole(row["role"]),
        label=row["label"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


class ApiKeys:
    """The API keys of one store. ``actor`` and ``clock`` go into every audit entry."""

    def __init__(
        self,
        store: Store,
        *,
        actor: str,
        clock: Callable[[], dt.datetime],
        cache_seconds: float = CACHE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.actor = actor
        self.clock = clock
        self.cache_seconds = cache_seconds
        self._monotonic = monotonic
        # key id -> (secret hash, role, cached until); only unrevoked keys are cached
        self._cache: dict[str, tuple[str, ApiRole, float]] = {}
        self._lock = threading.Lock()

    @classmethod
    def of(cls, service: CaService) -> ApiKeys:
        """The keys in the store of a CA service, acting as its actor on its clock."""
        return cls(service.store, actor=service.actor, clock=service.clock)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.store.engine.connect() as conn:
                yield conn
        except DBAPIError as exc:
            raise StoreError(f"store failure: {error_summary(exc)}") from None

    # -- changes

    def create(self, role: ApiRole | str, label: str = "", *, actor: str | None = None) -> tuple[str, str]:
        """A new key: (key id, token). The token is the only copy of the secret; show it once."""
        which = role if isinstance(role, ApiRole) else ApiRole.parse(role)
        text = label.strip()
        if len(text) > MAX_LABEL:
            raise ApiKeyError(f"an API key label has at most {MAX_LABEL} characters, not {len(text)}")
        if any(not c.isprintable() for c in text):
            raise ApiKeyError("an API key label must not contain control characters")
        key_id = secrets.token_hex(KEY_ID_BYTES)
        secret = secrets.token_urlsafe(SECRET_BYTES)
        now = self.clock().replace(microsecond=0)
        with self.store.transaction() as tx:
            try:
                tx.session.execute(
                    insert(_KEYS).values(
                        key_id=key_id,
                        secret_hash=_hash(secret),
                        role=which.value,
                        label=text,
                        created_at=now,
                        revoked_at=None,
                    )
                )
            except IntegrityError:  # a 2^-64 collision of key ids
                raise ApiKeyError(
                    "a key with the same id was created at the same moment; try again"
                ) from None
            tx.audit(
                at=self.clock(),
                actor=actor or self.actor,
                action="apikey-create",
                subject=f"apikey={key_id}",
                details={"role": which.value, "label": text},
            )
        return key_id, f"{TOKEN_PREFIX}{key_id}_{secret}"

    def revoke(self, key_id: str, *, actor: str | None = None) -> ApiKeyRecord:
        """Revoke a key (it stays listed, with its revocation time, for the audit trail)."""
        wanted = key_id.strip().lower()
        if not _KEY_ID.match(wanted):
            raise ApiKeyError(f"API key id {key_id!r} is not 16 hexadecimal digits")
        now = self.clock().replace(microsecond=0)
        with self.store.transaction() as tx:
            row = (
                tx.session.execute(select(_KEYS).where(_KEYS.c.key_id == wanted).with_for_update())
                .mappings()
                .first()
            )
            if row is None:
                raise NotFoundError(f"no API key with id {wanted}")
            old = _record(row)
            if old.revoked_at is not None:
                raise ApiKeyError(f"API key {wanted} was already revoked at {old.revoked_at.isoformat()}")
            tx.session.execute(update(_KEYS).where(_KEYS.c.key_id == wanted).values(revoked_at=now))
            tx.audit(
                at=self.clock(),
                actor=actor or self.actor,
                action="apikey-revoke",
                subject=f"apikey={wanted}",
                details={"role": old.role.value, "label": old.label},
            )
        with self._lock:
            self._cache.pop(wanted, None)
        return ApiKeyRecord(old.key_id, old.role, old.label, old.created_at, now)

    # -- reading

    def list(self, *, include_revoked: bool = True) -> list[ApiKeyRecord]:
        query = select(_KEYS).order_by(_KEYS.c.id)
        if not include_revoked:
            query = query.where(_KEYS.c.revoked_at.is_(None))
        with self._read() as conn:
            return [_record(row) for row in conn.execute(query).mappings()]

    def verify(self, token: str) -> ApiPrincipal:
        """The caller a token belongs to; InvalidApiKey when it is malformed, unknown, revoked or wrong."""
        return self.verify_cached(token) or self._verify_stored(token)

    def verify_cached(self, token: str) -> ApiPrincipal | None:
        """Like :meth:`verify` without touching the store: None when the key is not cached (then
        call :meth:`verify`, in a worker thread from async code)."""
        key_id, secret = split_token(token)
        with self._lock:
            cached = self._cache.get(key_id)
        if cached is None or cached[2] < self._monotonic():
            return None
        return self._check(key_id, secret, cached)

    def _verify_stored(self, token: str) -> ApiPrincipal:
        key_id, secret = split_token(token)
        with self._read() as conn:
            row = conn.execute(
                select(_KEYS.c.secret_hash, _KEYS.c.role, _KEYS.c.revoked_at).where(_KEYS.c.key_id == key_id)
            ).first()
        if row is None or row.revoked_at is not None:
            with self._lock:
                self._cache.pop(key_id, None)
            raise InvalidApiKey(f"API key {key_id} is unknown or revoked")
        cached = (row.secret_hash, ApiRole(row.role), self._monotonic() + self.cache_seconds)
        with self._lock:
            self._cache[key_id] = cached
        return self._check(key_id, secret, cached)

    @staticmethod
    def _check(key_id: str, secret: str, cached: tuple[str, ApiRole, float]) -> ApiPrincipal:
        if not hmac.compare_digest(cached[0].encode("ascii"), _hash(secret).encode("ascii")):
            raise InvalidApiKey(f"wrong secret for API key {key_id}")
        return ApiPrincipal(key_id, cached[1])


__all__ = [
    "ApiKeyError",
    "ApiKeyRecord",
    "ApiKeys",
    "ApiPrincipal",
    "ApiRole",
    "InvalidApiKey",
    "split_token",
]
