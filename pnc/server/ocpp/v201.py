"""OCPP 2.0.1 (subprotocol ``ocpp2.0.1``): which calls a charger may send, which of them the
Plug & Charge core answers, and valid minimal answers to the others in standalone mode.

The standalone answers are ``@on`` handlers of an ``ocpp.v201.ChargePoint`` (CSMS side), one per
connection, called with the snake_case arguments the ``ocpp`` package gives handlers; their
``call_result`` objects become the camelCase payload on the wire. A charger's call the bridge does
not answer gets ``NotSupported`` (known action) or ``NotImplemented`` (unknown action).
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

from ocpp.charge_point import (  # type: ignore[import-untyped]
    camel_to_snake_case,
    remove_nones,
    serialize_as_dict,
    snake_to_camel_case,
)
from ocpp.routing import on  # type: ignore[import-untyped]
from ocpp.v201 import ChargePoint, call_result  # type: ignore[import-untyped]
from ocpp.v201.enums import Action  # type: ignore[import-untyped]

from pnc.server.context import CoreFacade
from pnc.server.ocpp.frames import NOT_SUPPORTED, CallErrorReply

VERSION = "2.0.1"
SUBPROTOCOL = "ocpp2.0.1"

KNOWN_ACTIONS: frozenset[str] = frozenset(a.value for a in Action)

# OCPP 2.0.1 Part 2: the messages a charging station sends to the CSMS
CHARGER_ACTIONS: frozenset[str] = frozenset(
    {
        "Authorize",
        "BootNotification",
        "ClearedChargingLimit",
        "DataTransfer",
        "FirmwareStatusNotification",
        "Get15118EVCertificate",
        "GetCertificateStatus",
        "Heartbeat",
        "LogStatusNotification",
        "MeterValues",
        "NotifyChargingLimit",
        "NotifyCustomerInformation",
        "NotifyDisplayMessages",
        "NotifyEVChargingNeeds",
        "NotifyEVChargingSchedule",
        "NotifyEvent",
        "NotifyMonitoringReport",
        "NotifyReport",
        "PublishFirmwareStatusNotification",
        "ReportChargingProfiles",
        "ReservationStatusUpdate",
        "SecurityEventNotification",
        "SignCertificate",
        "StatusNotification",
        "TransactionEvent",
    }
)
assert CHARGER_ACTIONS <= KNOWN_ACTIONS
# ... and the ones a CSMS sends to a charging station (DataTransfer goes both ways)
CSMS_ACTIONS: frozenset[str] = (KNOWN_ACTIONS - CHARGER_ACTIONS) | {"DataTransfer"}

CoreRoute = Callable[[CoreFacade, str, dict[str, Any]], Awaitable[dict[str, Any]]]


def core_routes(version: str, **install_options: Any) -> dict[str, CoreRoute]:
    """The Plug & Charge calls of OCPP ``version``, answered by the core with the camelCase payloads
    as they are on the wire (the version goes into the audit; ``install_options`` to
    ``get_15118_ev_certificate``, e.g. 2.1's larger ``exi_response_limit``)."""

    async def authorize(core: CoreFacade, station_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        return await core.authorize(payload)

    async def get_15118_ev_certificate(
        core: CoreFacade, station_id: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        return await core.get_15118_ev_certificate(payload, ocpp_version=version, **install_options)

    async def get_certificate_status(
        core: CoreFacade, station_id: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        return await core.get_certificate_status(payload)

    async def sign_certificate(core: CoreFacade, station_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        return await core.sign_certificate(station_id, payload, ocpp_version=version)

    return {
        "Authorize": authorize,
        "Get15118EVCertificate": get_15118_ev_certificate,
        "GetCertificateStatus": get_certificate_status,
        "SignCertificate": sign_certificate,
    }


CORE_ROUTES: dict[str, CoreRoute] = core_routes(VERSION)


_F = TypeVar("_F", bound=Callable[..., Any])


def _on(action: Any) -> Callable[[_F], _F]:
    """``ocpp.routing.on`` without the package's schema validation (the session validates first)."""
    decorator: Callable[[_F], _F] = on(action, skip_schema_validation=True)
    return decorator


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


NO_FIELDS: Mapping[str, Any] = MappingProxyType({})  # an answer without fields

# The charger's calls whose answer does not depend on the call: their minimal valid CallResult.
FIXED_ANSWERS: Mapping[str, Mapping[str, Any]] = {
    **dict.fromkeys(
        (
            "StatusNotification", "NotifyEvent", "MeterValues", "TransactionEvent",
            "SecurityEventNotification", "FirmwareStatusNotification", "LogStatusNotification",
            "NotifyReport", "NotifyMonitoringReport", "NotifyChargingLimit", "ClearedChargingLimit",
            "NotifyCustomerInformation", "NotifyDisplayMessages", "PublishFirmwareStatusNotification",
            "ReportChargingProfiles", "ReservationStatusUpdate",
        ),
        NO_FIELDS,
    ),
    # no smart charging here: the EV's needs are not turned into a charging profile
    "NotifyEVChargingNeeds": {"status": "Rejected"},
    "NotifyEVChargingSchedule": {"status": "Accepted"},
    "DataTransfer": {"status": "UnknownVendorId"},
}  # fmt: skip


class StandaloneCsms(ChargePoint):  # type: ignore[misc]
    """Valid minimal CSMS answers to the charger's calls that are not Plug & Charge: the
    :data:`FIXED_ANSWERS`, and ``@on`` handlers for the answers that depend on the call."""

    fixed_answers: ClassVar[Mapping[str, Mapping[str, Any]]] = FIXED_ANSWERS

    def __init__(self, station_id: str, heartbeat_interval: int) -> None:
        super().__init__(station_id, connection=None)
        self.heartbeat_interval = heartbeat_interval

    async def answer(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The CallResult payload (camelCase) for the call, or :class:`CallErrorReply`."""
        fixed = self.fixed_answers.get(action)
        if fixed is not None:
            return copy.deepcopy(dict(fixed))
        route = self.route_map.get(action)
        handler = route.get("_on_action") if route else None
        if handler is None:
            raise CallErrorReply(NOT_SUPPORTED, f"{action} is not supported by this CSMS")
        result = handler(**camel_to_snake_case(payload))
        if hasattr(result, "__await__"):
            result = await result
        answer: dict[str, Any] = snake_to_camel_case(remove_nones(serialize_as_dict(result)))
        return answer

    @_on(Action.boot_notification)
    def on_boot_notification(self, **_: Any) -> Any:
        return call_result.BootNotification(
            current_time=_now(), interval=self.heartbeat_interval, status="Accepted"
        )

    @_on(Action.heartbeat)
    def on_heartbeat(self, **_: Any) -> Any:
        return call_result.Heartbeat(current_time=_now())


__all__ = [
    "CHARGER_ACTIONS",
    "CORE_ROUTES",
    "CSMS_ACTIONS",
    "FIXED_ANSWERS",
    "KNOWN_ACTIONS",
    "SUBPROTOCOL",
    "VERSION",
    "StandaloneCsms",
    "core_routes",
]
