"""Who may open an OCPP connection: the security profiles of OCPP 2.0.1 (Part 2, A00.FR).

A registered station must connect with (at least) its profile:

- profile 1: HTTP Basic Auth, user = the station identity (the URL's last segment), password
  checked against the registry's hash; over ``ws://`` or ``wss://``;
- profile 2: the same over TLS only; over plain ``ws://`` it is refused with 403;
- profile 3: TLS with a client certificate that chained to a client CA during the handshake, whose
  subject CN equals the station identity and which is not revoked (when this home issued it);
  without one it is refused with 403. No password is asked.

A missing or wrong password, or an unknown station, is refused with 401 and
``WWW-Authenticate: Basic`` (the same answer, so the refusal does not tell which station ids exist),
unless ``allow_unknown_stations`` admits stations the registry does not know (without a password
check; their profile is what the connection offers). Every refusal happens before the websocket
upgrade.

The profile a connection is admitted with is the one it satisfies: a profile-1 station connecting
over TLS counts as 2. Password checks use the registry's verification cache; a key derivation,
when needed, runs in a dedicated pool of ``kdf_workers`` threads so that a crowd of stations
connecting at once never starves the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from pki.ca import CaService
from pki.errors import NotFoundError
from pki.store import serial_hex
from pnc.core.stations import StationRecord, StationRegistry
from pnc.server.settings import ServeSettings
from pnc.server.tls import client_certificate, is_tls

BASIC_CHALLENGE = (b"www-authenticate", b'Basic realm="OCPP", charset="UTF-8"')


@dataclass
class Refusal(Exception):
    """The HTTP answer refusing a connection attempt (``reason`` labels the metrics)."""

    status: int
    reason: str
    message: str
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.status} {self.reason}: {self.message}"


def basic_credentials(scope: MutableMapping[str, Any]) -> tuple[str, str] | None:
    """(user, password) of an ``Authorization: Basic`` header, or None."""
    for name, value in scope.get("headers", ()):
        if name.lower() != b"authorization":
            continue
        scheme, _, token = value.decode("latin-1").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return None
        user, sep, password = decoded.partition(":")
        return (user, password) if sep else None
    return None


class Gatekeeper:
    """Admits or refuses connection attempts of stations."""

    def __init__(
        self, service: CaService, registry: StationRegistry, settings: ServeSettings, *, kdf_workers: int = 2
    ) -> None:
        self.service = service
        self.registry = registry
        self.settings = settings
        self._kdf = ThreadPoolExecutor(max_workers=kdf_workers, thread_name_prefix="pnc-kdf")

    def close(self) -> None:
        self._kdf.shutdown(wait=False, cancel_futures=True)

    async def admit(self, station_id: str, scope: MutableMapping[str, Any]) -> int:
        """The security profile the connection attempt satisfies, or :class:`Refusal`."""
        tls = is_tls(scope)
        record = await asyncio.to_thread(self.registry.find, station_id)
        if record is None:
            if not self.settings.allow_unknown_stations:
                raise self._unauthorized("unknown-station")
            der = client_certificate(scope)
            if (
                der is not None
                and await asyncio.to_thread(self._certificate_problem, der, station_id) is None
            ):
                return 3
            return 2 if tls else 1
        required = record.security_profile
        if required >= 2 and not tls:
            raise Refusal(
                403,
                "tls-required",
                f"station {station_id} is registered for security profile {required}: connect over TLS (wss://)",
            )
        if required == 3:
            der = client_certificate(scope)
            if der is None:
                raise Refusal(
                    403,
                    "client-certificate-required",
                    f"station {station_id} is registered for security profile 3: "
                    "present its client certificate",
                )
            problem = await asyncio.to_thread(self._certificate_problem, der, station_id)
            if problem is not None:
                raise Refusal(403, "client-certificate-refused", problem)
            return 3
        await self._check_password(record, scope)
        return 2 if tls else 1

    async def _check_password(self, record: StationRecord, scope: MutableMapping[str, Any]) -> None:
        credentials = basic_credentials(scope)
        if credentials is None:
            raise self._unauthorized("credentials-missing")
        user, password = credentials
        if user != record.station_id:
            raise self._unauthorized("credentials-wrong")
        verdict = self.registry.cached_verdict(record, password)
        if verdict is None:
            loop = asyncio.get_running_loop()
            verdict = await loop.run_in_executor(self._kdf, self.registry.check_password, record, password)
        if not verdict:
            raise self._unauthorized("credentials-wrong")

    @staticmethod
    def _unauthorized(reason: str) -> Refusal:
        return Refusal(
            401, reason, "Basic Auth with the station identity and its password needed", [BASIC_CHALLENGE]
        )

    def _certificate_problem(self, der: bytes, station_id: str) -> str | None:
        """Why a (TLS-verified) client certificate does not identify ``station_id``, or None."""
        try:
            cert = x509.load_der_x509_certificate(der)
        except ValueError:
            return "the client certificate cannot be read"
        names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        cn = str(names[0].value) if names else None
        if cn != station_id:
            return f"the client certificate's CN {cn!r} is not the station identity {station_id!r}"
        try:
            stored = self.service.store.certificate(serial_hex(cert.serial_number))
        except NotFoundError:
            return None  # issued by another CA the operator trusts (--client-ca)
        if stored.der == der and stored.status == "revoked":
            return f"the client certificate {stored.serial_hex} is revoked"
        return None


__all__ = ["BASIC_CHALLENGE", "Gatekeeper", "Refusal", "basic_credentials"]
