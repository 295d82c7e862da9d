"""OCPP 1.6J (subprotocol ``ocpp1.6``): Plug & Charge over DataTransfer (:mod:`pnc.server.ocpp.pnc16`),
the 1.6 security extensions and standalone answers through the ``ocpp`` package's v16 schemas and
ChargePoint.

A charger's calls:

- DataTransfer of vendorId ``org.openchargealliance.iso15118pnc``: Authorize, Get15118EVCertificate,
  GetCertificateStatus, SignCertificate answered by the core (2.0.1 payloads in ``data``); other
  vendorIds: ``UnknownVendorId``.
- SignCertificate (security extension): the charge point certificate, i.e. the core's
  ChargingStationCertificate (same CSR rules as 2.0.1: CN = the station identity); the answer has
  no statusInfo in 1.6, so a refusal's reason is only logged (and audited by the core).
- Authorize / StartTransaction with an ``idTag`` (standalone mode; proxy mode relays them): Accepted
  when this station's Plug & Charge Authorize accepted that eMAID within the last
  :data:`PNC_TOKEN_TTL` seconds; otherwise an eMAID gets its contract's status from the registry
  (Accepted, Blocked, Expired; unknown: Invalid) and any other idTag ``Invalid`` (no RFID list here).
- BootNotification, Heartbeat, StatusNotification, MeterValues, StopTransaction, the notifications
  and SecurityEventNotification: valid minimal answers.

The bridge's calls are translated by :mod:`pnc.server.ocpp.calls16`. CallErrors use 1.6's codes
(``FormationViolation``, ``OccurenceConstraintViolation``; the 2.0.1 RPC framework errors become
``FormationViolation``). Security profiles 1-3 apply as for 2.0.1 (:mod:`pnc.server.auth`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

from ocpp.routing import on  # type: ignore[import-untyped]
from ocpp.v16 import ChargePoint, call_result  # type: ignore[import-untyped]
from ocpp.v16.enums import Action  # type: ignore[import-untyped]

from pki.contracts import canonical_emaid
from pki.errors import IdentifierError
from pnc.server.context import CoreFacade
from pnc.server.ocpp import calls16, pnc16, v201
from pnc.server.ocpp.dialect import CoreRoute, Dialect, WireCall

LOG = logging.getLogger("pnc.server.ocpp")

VERSION = "1.6"
SUBPROTOCOL = "ocpp1.6"
PNC_TOKEN_TTL = 600.0  # seconds an accepted Plug & Charge Authorize vouches for the idTag
_MAX_TOKENS = 100_000

KNOWN_ACTIONS: frozenset[str] = frozenset(a.value for a in Action)

# OCPP 1.6 (and its security extensions): what a charge point sends to the central system
CHARGER_ACTIONS: frozenset[str] = frozenset(
    {
        "Authorize",
        "BootNotification",
        "DataTransfer",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "LogStatusNotification",
        "MeterValues",
        "SecurityEventNotification",
        "SignCertificate",
        "SignedFirmwareStatusNotification",
        "StartTransaction",
        "StatusNotification",
        "StopTransaction",
    }
)
assert CHARGER_ACTIONS <= KNOWN_ACTIONS
# ... and the ones a CSMS sends to a charging station (DataTransfer goes both ways)
CSMS_ACTIONS: frozenset[str] = (KNOWN_ACTIONS - CHARGER_ACTIONS) | {"DataTransfer"}

# OCPP-J 1.6 4.2.3 spells two codes differently and has no RPC framework errors
ERROR_CODES = {
    "FormatViolation": "FormationViolation",
    "OccurrenceConstraintViolation": "OccurenceConstraintViolation",
    "RpcFrameworkError": "FormationViolation",
    "MessageTypeNotSupported": "FormationViolation",
}
_STATUS_16 = {"Accepted": "Accepted", "Blocked": "Blocked", "Expired": "Expired"}  # others: Invalid


class PncTokens:
    """eMAIDs a Plug & Charge Authorize accepted, per station, for ``ttl`` seconds (bounded)."""

    def __init__(self, ttl: float = PNC_TOKEN_TTL, max_entries: int = _MAX_TOKENS) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._until: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _token(id_token: str) -> str:
        try:
            return canonical_emaid(id_token)
        except IdentifierError:
            return id_token

    def add(self, station_id: str, id_token: str) -> None:
        key = (station_id, self._token(id_token))
        with self._lock:
            self._until[key] = time.monotonic() + self.ttl
            self._until.move_to_end(key)
            while len(self._until) > self.max_entries:
                self._until.popitem(last=False)

    def accepted(self, station_id: str, id_token: str) -> bool:
        key = (station_id, self._token(id_token))
        with self._lock:
            until = self._until.get(key)
            if until is None:
                return False
            if until < time.monotonic():
                del self._until[key]
                return False
            return True


PNC_TOKENS = PncTokens()


# -- Plug & Charge in DataTransfer: the core's answers


async def _pnc_authorize(core: CoreFacade, station_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    answer = await core.authorize(payload)
    if answer.get("idTokenInfo", {}).get("status") == "Accepted":
        PNC_TOKENS.add(station_id, payload["idToken"]["idToken"])
    return answer


PNC_ROUTES: dict[str, CoreRoute] = {**v201.core_routes(VERSION), "Authorize": _pnc_authorize}


# -- the 1.6 calls the core answers


async def _data_transfer(core: CoreFacade, station_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    return await pnc16.answer_data_transfer(PNC_ROUTES, core, station_id, payload)


async def _sign_certificate(core: CoreFacade, station_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Security extension SignCertificate: the charge point certificate."""
    answer = await core.sign_certificate(
        station_id,
        {"csr": payload["csr"], "certificateType": "ChargingStationCertificate"},
        ocpp_version=VERSION,
    )
    if answer.get("status") != "Accepted":
        LOG.info("SignCertificate of station %s rejected: %s", station_id, answer.get("statusInfo"))
    return {"status": answer["status"]}


async def id_tag_info(core: CoreFacade, station_id: str, id_tag: str) -> dict[str, Any]:
    """The IdTagInfo of an idTag (see the module docstring)."""
    if PNC_TOKENS.accepted(station_id, id_tag):
        return {"status": "Accepted"}
    try:
        canonical_emaid(id_tag)
    except IdentifierError:
        return {"status": "Invalid"}
    answer = await core.authorize({"idToken": {"idToken": id_tag, "type": "eMAID"}})
    return {"status": _STATUS_16.get(answer["idTokenInfo"]["status"], "Invalid")}


async def _authorize(core: CoreFacade, station_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"idTagInfo": await id_tag_info(core, station_id, payload["idTag"])}


_TRANSACTION_IDS = itertools.count(secrets.randbelow(1 << 30) + 1)


async def _start_transaction(core: CoreFacade, station_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    info = await id_tag_info(core, station_id, payload["idTag"])
    return {"transactionId": next(_TRANSACTION_IDS) % (1 << 31), "idTagInfo": info}


CORE_ROUTES: dict[str, CoreRoute] = {
    "DataTransfer": _data_transfer,
    "SignCertificate": _sign_certificate,
    "Authorize": _authorize,
    "StartTransaction": _start_transaction,
}


class Dialect16(Dialect):
    """OCPP 1.6: Plug & Charge in DataTransfer, the security extensions, 1.6 error codes."""

    async def call(
        self, wire: WireCall, station_id: str, action: str, payload: dict[str, Any], timeout: float
    ) -> dict[str, Any]:
        return await calls16.call(wire, station_id, action, payload, timeout)

    def label(self, action: str, payload: dict[str, Any]) -> str:
        if action == "DataTransfer":
            message_id = pnc16.message_id_of(payload)
            if message_id in pnc16.CHARGER_MESSAGES:
                return f"DataTransfer.{message_id}"
        return action

    def outcome(self, action: str, answer: dict[str, Any]) -> str:
        if action == "DataTransfer" and answer.get("status") != "Accepted":
            return str(answer.get("status"))
        return "CallResult"

    def is_local(self, action: str, payload: dict[str, Any], local_actions: frozenset[str]) -> bool:
        if action == "DataTransfer":
            return pnc16.message_id_of(payload) in local_actions
        if action == "Authorize":  # an idTag: the CSMS's business
            return False
        return action in local_actions

    def error_code(self, code: str) -> str:
        return ERROR_CODES.get(code, code)


DIALECT = Dialect16()

_F = TypeVar("_F", bound=Callable[..., Any])


def _on(action: Any) -> Callable[[_F], _F]:
    """``ocpp.routing.on`` without the package's schema validation (the session validates first)."""
    decorator: Callable[[_F], _F] = on(action, skip_schema_validation=True)
    return decorator


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StandaloneCsms16(ChargePoint):  # type: ignore[misc]
    """Valid minimal OCPP 1.6 central-system answers to the calls the core does not answer."""

    def __init__(self, station_id: str, heartbeat_interval: int) -> None:
        super().__init__(station_id, connection=None)
        self.heartbeat_interval = heartbeat_interval

    answer = v201.StandaloneCsms.answer  # the @on handler of the action, camelCase in and out
    fixed_answers: ClassVar[Mapping[str, Mapping[str, Any]]] = {}  # every 1.6 answer has a handler

    @_on(Action.boot_notification)
    def on_boot_notification(self, **_: Any) -> Any:
        return call_result.BootNotification(
            current_time=_now(), interval=self.heartbeat_interval, status="Accepted"
        )

    @_on(Action.heartbeat)
    def on_heartbeat(self, **_: Any) -> Any:
        return call_result.Heartbeat(current_time=_now())

    @_on(Action.status_notification)
    def on_status_notification(self, **_: Any) -> Any:
        return call_result.StatusNotification()

    @_on(Action.meter_values)
    def on_meter_values(self, **_: Any) -> Any:
        return call_result.MeterValues()

    @_on(Action.stop_transaction)
    def on_stop_transaction(self, **_: Any) -> Any:
        return call_result.StopTransaction()

    @_on(Action.diagnostics_status_notification)
    def on_diagnostics_status_notification(self, **_: Any) -> Any:
        return call_result.DiagnosticsStatusNotification()

    @_on(Action.firmware_status_notification)
    def on_firmware_status_notification(self, **_: Any) -> Any:
        return call_result.FirmwareStatusNotification()

    @_on(Action.log_status_notification)
    def on_log_status_notification(self, **_: Any) -> Any:
        return call_result.LogStatusNotification()

    @_on(Action.signed_firmware_status_notification)
    def on_signed_firmware_status_notification(self, **_: Any) -> Any:
        return call_result.SignedFirmwareStatusNotification()

    @_on(Action.security_event_notification)
    def on_security_event_notification(self, type: str, **_: Any) -> Any:
        LOG.info("security event %s from station %s", type[:50], self.id)
        return call_result.SecurityEventNotification()


__all__ = [
    "CHARGER_ACTIONS",
    "CORE_ROUTES",
    "CSMS_ACTIONS",
    "DIALECT",
    "ERROR_CODES",
    "KNOWN_ACTIONS",
    "PNC_ROUTES",
    "PNC_TOKENS",
    "SUBPROTOCOL",
    "VERSION",
    "Dialect16",
    "PncTokens",
    "StandaloneCsms16",
    "id_tag_info",
]
