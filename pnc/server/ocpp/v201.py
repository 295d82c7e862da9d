"""OCPP 2.0.1 (subprotocol ``ocpp2.0.1``): which calls a charger may send, which of them the
Plug & Charge core answers, and valid minimal answers to the others in standalone mode.

The standalone answers are ``@on`` handlers of an ``ocpp.v201.ChargePoint`` (CSMS side), one per
connection, called with the snake_case arguments the ``ocpp`` package gives handlers; their
``call_result`` objects become the camelCase payload on the wire. A charger's call the bridge does
not answer gets ``NotSupported`` (known action) or ``NotImplemented`` (unknown action).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

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


async def _authorize(core: CoreFacade, station_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    return await core.authorize(payload)


async def _get_15118_ev_certificate(
    core: CoreFacade, station_id: str, payload: dict[str, Any]
) -> dict[str, Any]:
    return await core.get_15118_ev_certificate(payload)


async def _get_certificate_status(
    core: CoreFacade, station_id: str, payload: dict[str, Any]
) -> dict[str, Any]:
    return await core.get_certificate_status(payload)


async def _sign_certificate(core: CoreFacade, station_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    return await core.sign_certificate(station_id, payload)


# The Plug & Charge calls: answered by the core with the camelCase payloads as they are on the wire.
CORE_ROUTES: dict[str, CoreRoute] = {
    "Authorize": _authorize,
    "Get15118EVCertificate": _get_15118_ev_certificate,
    "GetCertificateStatus": _get_certificate_status,
    "SignCertificate": _sign_certificate,
}


_F = TypeVar("_F", bound=Callable[..., Any])


def _on(action: Any) -> Callable[[_F], _F]:
    """``ocpp.routing.on`` without the package's schema validation (the session validates first)."""
    decorator: Callable[[_F], _F] = on(action, skip_schema_validation=True)
    return decorator


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StandaloneCsms(ChargePoint):  # type: ignore[misc]
    """Valid minimal CSMS answers to the charger's calls that are not Plug & Charge."""

    def __init__(self, station_id: str, heartbeat_interval: int) -> None:
        super().__init__(station_id, connection=None)
        self.heartbeat_interval = heartbeat_interval

    async def answer(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The CallResult payload (camelCase) for the call, or :class:`CallErrorReply`."""
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

    @_on(Action.status_notification)
    def on_status_notification(self, **_: Any) -> Any:
        return call_result.StatusNotification()

    @_on(Action.notify_event)
    def on_notify_event(self, **_: Any) -> Any:
        return call_result.NotifyEvent()

    @_on(Action.meter_values)
    def on_meter_values(self, **_: Any) -> Any:
        return call_result.MeterValues()

    @_on(Action.transaction_event)
    def on_transaction_event(self, **_: Any) -> Any:
        return call_result.TransactionEvent()

    @_on(Action.security_event_notification)
    def on_security_event_notification(self, **_: Any) -> Any:
        return call_result.SecurityEventNotification()

    @_on(Action.firmware_status_notification)
    def on_firmware_status_notification(self, **_: Any) -> Any:
        return call_result.FirmwareStatusNotification()

    @_on(Action.log_status_notification)
    def on_log_status_notification(self, **_: Any) -> Any:
        return call_result.LogStatusNotification()

    @_on(Action.notify_report)
    def on_notify_report(self, **_: Any) -> Any:
        return call_result.NotifyReport()

    @_on(Action.notify_monitoring_report)
    def on_notify_monitoring_report(self, **_: Any) -> Any:
        return call_result.NotifyMonitoringReport()

    @_on(Action.notify_charging_limit)
    def on_notify_charging_limit(self, **_: Any) -> Any:
        return call_result.NotifyChargingLimit()

    @_on(Action.cleared_charging_limit)
    def on_cleared_charging_limit(self, **_: Any) -> Any:
        return call_result.ClearedChargingLimit()

    @_on(Action.notify_customer_information)
    def on_notify_customer_information(self, **_: Any) -> Any:
        return call_result.NotifyCustomerInformation()

    @_on(Action.notify_display_messages)
    def on_notify_display_messages(self, **_: Any) -> Any:
        return call_result.NotifyDisplayMessages()

    @_on(Action.publish_firmware_status_notification)
    def on_publish_firmware_status_notification(self, **_: Any) -> Any:
        return call_result.PublishFirmwareStatusNotification()

    @_on(Action.report_charging_profiles)
    def on_report_charging_profiles(self, **_: Any) -> Any:
        return call_result.ReportChargingProfiles()

    @_on(Action.reservation_status_update)
    def on_reservation_status_update(self, **_: Any) -> Any:
        return call_result.ReservationStatusUpdate()

    @_on(Action.notify_ev_charging_needs)
    def on_notify_ev_charging_needs(self, **_: Any) -> Any:
        # no smart charging here: the EV's needs are not turned into a charging profile
        return call_result.NotifyEVChargingNeeds(status="Rejected")

    @_on(Action.notify_ev_charging_schedule)
    def on_notify_ev_charging_schedule(self, **_: Any) -> Any:
        return call_result.NotifyEVChargingSchedule(status="Accepted")

    @_on(Action.data_transfer)
    def on_data_transfer(self, **_: Any) -> Any:
        return call_result.DataTransfer(status="UnknownVendorId")


__all__ = [
    "CHARGER_ACTIONS",
    "CORE_ROUTES",
    "CSMS_ACTIONS",
    "KNOWN_ACTIONS",
    "SUBPROTOCOL",
    "VERSION",
    "StandaloneCsms",
]
