"""The charging stations the bridge knows: OCPP identity, security profile and Basic Auth password.

Security profiles (OCPP 2.0.1 Part 2 A00, "Security profiles"): 1 = HTTP Basic Auth over plain
websockets, 2 = TLS + Basic Auth, 3 = mutual TLS (the client certificate identifies the station).
Profiles 1 and 2 need a password, profile 3 has none.

Station identities follow the OCPP rules for the last path segment of the connection URL, which is
also the Basic Auth user name: 1-48 characters of the OCPP ``identifierString`` set
(``A-Z a-z 0-9 * - _ = + | @ .``) without ``:``, which Basic Auth uses as its separator.

Passwords (``BasicAuthPassword``: 16-40 printable ASCII characters) are stored as scrypt hashes
(N=2^14, r=8, p=1, a 16-byte random salt per station), never in clear, and compared in constant time.
A password verified once is remembered in memory (keyed by an HMAC of the password under a
per-process random key, together with the stored hash it matched) so that reconnecting stations
cost no key derivation: a thousand stations reconnecting at once cost a thousand look-ups, not a
thousand scrypt runs. Changing or removing a station changes or removes its stored hash, which
invalidates what any process remembered.

Every change is one committed transaction with its audit entry; a refused change writes nothing.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import DBAPIError, IntegrityError

from pki.errors import AlreadyExistsError, NotFoundError, StoreError
from pki.store import Store, Transaction
from pki.store.database import error_summary
from pki.store.models import Base, Station
from pnc.errors import PncError

if TYPE_CHECKING:
    from pki.ca import CaService

_STATIONS = Base.metadata.tables[Station.__tablename__]

SECURITY_PROFILES = (1, 2, 3)
STATION_ID_MAX = 48
PASSWORD_MIN, PASSWORD_MAX = 16, 40  # OCPP 2.0.1 SecurityCtrlr.BasicAuthPassword
_STATION_ID = re.compile(r"[A-Za-z0-9*\-_=+|@.]{1,48}", re.ASCII)  # as pki.identifiers
_PASSWORD = re.compile(r"[\x21-\x7e]{16,40}")

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_SCRYPT_MAXMEM = 64 * 1024 * 1024
_HASH_PREFIX = "scrypt"


class StationError(PncError):
    """A station operation is refused (bad identity, profile or password)."""


def validate_station_id(station_id: str) -> str:
    """``station_id`` if it is a valid OCPP station identity (the rule of
    :func:`pki.identifiers.validate_station_id`, which the CA applies to the CN of charging-station
    certificates), else :class:`StationError`."""
    if not isinstance(station_id, str) or not _STATION_ID.fullmatch(station_id):
        shown = station_id[:60] if isinstance(station_id, str) else type(station_id).__name__
        raise StationError(
            f"station identity {shown!r} is invalid: use 1-{STATION_ID_MAX} characters of "
            "A-Z a-z 0-9 * - _ = + | @ . (no ':', no '/')"
        )
    return station_id


def validate_profile(profile: int) -> int:
    if profile not in SECURITY_PROFILES:
        raise StationError(f"security profile {profile!r} is not one of 1, 2, 3")
    return profile


def validate_password(password: str) -> str:
    """A Basic Auth password: 16-40 printable ASCII characters without spaces (OCPP passwordString)."""
    if not _PASSWORD.fullmatch(password):
        raise StationError(
            f"the password must be {PASSWORD_MIN}-{PASSWORD_MAX} printable ASCII characters without "
            f"spaces (it has {len(password)} characters)"
        )
    return password


def generate_password() -> str:
    """A random password of 40 URL-safe characters (240 bits)."""
    return secrets.token_urlsafe(30)


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64 fields) of ``password``."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=_SCRYPT_MAXMEM, dklen=32
    )
    b64 = base64.b64encode
    return f"{_HASH_PREFIX}${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def password_matches(password: str, stored: str) -> bool:
    """Whether ``password`` hashes to ``stored`` (constant-time comparison); False for a stored
    value this version cannot read."""
    try:
        prefix, n, r, p, salt_b64, digest_b64 = stored.split("$")
        if prefix != _HASH_PREFIX:
            return False
        salt = base64.b64decode(salt_b64, validate=True)
        expected = base64.b64decode(digest_b64, validate=True)
        derived = hashlib.scrypt(
            password.encode(),
            salt=salt,
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=_SCRYPT_MAXMEM,
            dklen=len(expected),
        )
    except (ValueError, binascii.Error):
        return False
    return hmac.compare_digest(derived, expected)


@dataclass(frozen=True)
class StationRecord:
    """One station as the registry holds it (``password_hash`` never leaves the process)."""

    station_id: str
    security_profile: int
    password_hash: str | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None

    def summary(self) -> dict[str, Any]:
        return {
            "station_id": self.station_id,
            "security_profile": self.security_profile,
            "password": "set" if self.has_password else None,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "updated_at": self.updated_at.isoformat(timespec="seconds"),
        }


def _record(row: RowMapping) -> StationRecord:
    return StationRecord(
        station_id=row["station_id"],
        security_profile=int(row["security_profile"]),
        password_hash=row["password_hash"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class _VerifiedCache:
    """(station, HMAC of a password) -> the stored hash it matched, bounded, least recently used out."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._key = secrets.token_bytes(32)
        self._entries: OrderedDict[tuple[str, bytes], str] = OrderedDict()
        self._lock = threading.Lock()

    def _mac(self, station_id: str, password: str) -> tuple[str, bytes]:
        mac = hmac.new(self._key, f"{station_id}\x00{password}".encode(), hashlib.sha256).digest()
        return station_id, mac

    def get(self, station_id: str, password: str) -> str | None:
        key = self._mac(station_id, password)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, station_id: str, password: str, stored: str) -> None:
        key = self._mac(station_id, password)
        with self._lock:
            self._entries[key] = stored
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def forget(self, station_id: str) -> None:
        with self._lock:
            for key in [k for k in self._entries if k[0] == station_id]:
                del self._entries[key]


class StationRegistry:
    """The stations of one store. ``actor`` and ``clock`` go into every audit entry."""

    def __init__(
        self,
        store: Store,
        *,
        actor: str,
        clock: Callable[[], dt.datetime],
        verified_cache_size: int = 100_000,
    ) -> None:
        self.store = store
        self.actor = actor
        self.clock = clock
        self._verified = _VerifiedCache(verified_cache_size)

    @classmethod
    def of(cls, service: CaService) -> StationRegistry:
        """The registry in the store of a CA service, acting as its actor on its clock."""
        return cls(service.store, actor=service.actor, clock=service.clock)

    # -- reading

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.store.engine.connect() as conn:
                yield conn
        except DBAPIError as exc:
            raise StoreError(f"store failure: {error_summary(exc)}") from None

    def find(self, station_id: str) -> StationRecord | None:
        """The station, or None (also for an identity that is not valid)."""
        if not isinstance(station_id, str) or not _STATION_ID.fullmatch(station_id):
            return None
        with self._read() as conn:
            row = (
                conn.execute(select(_STATIONS).where(_STATIONS.c.station_id == station_id)).mappings().first()
            )
        return _record(row) if row is not None else None

    def get(self, station_id: str) -> StationRecord:
        found = self.find(validate_station_id(station_id))
        if found is None:
            raise NotFoundError(f"no station {station_id!r} in the registry")
        return found

    def list(self) -> list[StationRecord]:
        with self._read() as conn:
            rows = conn.execute(select(_STATIONS).order_by(_STATIONS.c.station_id)).mappings()
            return [_record(row) for row in rows]

    # -- passwords

    def cached_verdict(self, record: StationRecord, password: str) -> bool | None:
        """True when ``password`` was verified against the record's current hash before; None when
        only a key derivation can tell (:meth:`check_password`)."""
        if record.password_hash is None:
            return False
        remembered = self._verified.get(record.station_id, password)
        if remembered is not None and hmac.compare_digest(remembered, record.password_hash):
            return True
        return None

    def check_password(self, record: StationRecord, password: str) -> bool:
        """Whether ``password`` is the station's Basic Auth password (a key derivation unless a
        previous check already verified it against the same stored hash)."""
        cached = self.cached_verdict(record, password)
        if cached is not None:
            return cached
        assert record.password_hash is not None
        if not password_matches(password, record.password_hash):
            return False
        self._verified.put(record.station_id, password, record.password_hash)
        return True

    def verify_password(self, station_id: str, password: str) -> bool:
        """Whether ``station_id`` is registered with a password and ``password`` is it."""
        record = self.find(station_id)
        return record is not None and self.check_password(record, password)

    # -- changes (each one transaction with its audit entry)

    def _audit(self, tx: Transaction, action: str, record: StationRecord, **extra: Any) -> None:
        tx.audit(
            at=self.clock(),
            actor=self.actor,
            action=action,
            subject=f"station={record.station_id}",
            details={"security_profile": record.security_profile, "password": record.has_password, **extra},
        )

    @staticmethod
    def _password_for(profile: int, password: str | None) -> str | None:
        if profile == 3:
            if password is not None:
                raise StationError(
                    "security profile 3 authenticates with the TLS client certificate: no password"
                )
            return None
        if password is None:
            raise StationError(f"security profile {profile} needs a Basic Auth password")
        return hash_password(validate_password(password))

    def add(self, station_id: str, security_profile: int, password: str | None = None) -> StationRecord:
        """Register a station; profiles 1 and 2 need ``password``, profile 3 takes none."""
        validate_station_id(station_id)
        validate_profile(security_profile)
        hashed = self._password_for(security_profile, password)
        now = self.clock().replace(microsecond=0)
        record = StationRecord(station_id, security_profile, hashed, now, now)
        with self.store.transaction() as tx:
            found = tx.session.execute(select(_STATIONS.c.id).where(_STATIONS.c.station_id == station_id))
            if found.first() is not None:
                raise AlreadyExistsError(f"station {station_id!r} is already registered")
            try:
                tx.session.execute(insert(_STATIONS).values(**_row(record)))
            except IntegrityError:
                raise AlreadyExistsError(
                    f"station {station_id!r} was registered at the same moment"
                ) from None
            self._audit(tx, "station-add", record)
        return record

    def update(
        self, station_id: str, *, security_profile: int | None = None, password: str | None = None
    ) -> StationRecord:
        """Change a station's profile and/or password (moving to profile 3 drops the password;
        moving to 1 or 2 from 3 needs one)."""
        validate_station_id(station_id)
        if security_profile is None and password is None:
            raise StationError("nothing to change: give a security profile or a password")
        with self.store.transaction() as tx:
            row = (
                tx.session.execute(
                    select(_STATIONS).where(_STATIONS.c.station_id == station_id).with_for_update()
                )
                .mappings()
                .first()
            )
            if row is None:
                raise NotFoundError(f"no station {station_id!r} in the registry")
            old = _record(row)
            profile = (
                validate_profile(security_profile) if security_profile is not None else old.security_profile
            )
            if password is not None or profile == 3:
                hashed = self._password_for(profile, password)
            elif old.password_hash is None:
                raise StationError(f"security profile {profile} needs a Basic Auth password")
            else:
                hashed = old.password_hash
            now = self.clock().replace(microsecond=0)
            tx.session.execute(
                update(_STATIONS)
                .where(_STATIONS.c.station_id == station_id)
                .values(security_profile=profile, password_hash=hashed, updated_at=now)
            )
            new = StationRecord(station_id, profile, hashed, old.created_at, now)
            self._audit(
                tx,
                "station-update",
                new,
                previous_security_profile=old.security_profile,
                password_changed=hashed != old.password_hash,
            )
        self._verified.forget(station_id)
        return new

    def remove(self, station_id: str) -> StationRecord:
        """Delete a station from the registry (its certificates stay in the store)."""
        validate_station_id(station_id)
        with self.store.transaction() as tx:
            row = (
                tx.session.execute(
                    select(_STATIONS).where(_STATIONS.c.station_id == station_id).with_for_update()
                )
                .mappings()
                .first()
            )
            if row is None:
                raise NotFoundError(f"no station {station_id!r} in the registry")
            old = _record(row)
            tx.session.execute(delete(_STATIONS).where(_STATIONS.c.station_id == station_id))
            self._audit(tx, "station-remove", old)
        self._verified.forget(station_id)
        return old


def _row(record: StationRecord) -> dict[str, Any]:
    return {
        "station_id": record.station_id,
        "security_profile": record.security_profile,
        "password_hash": record.password_hash,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


__all__ = [
    "SECURITY_PROFILES",
    "StationError",
    "StationRecord",
    "StationRegistry",
    "generate_password",
    "hash_password",
    "password_matches",
    "validate_password",
    "validate_station_id",
]
