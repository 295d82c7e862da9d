"""OCPP 2.1 (subprotocol ``ocpp2.1``): the same Plug & Charge flows as 2.0.1 through the ``ocpp``
package's v21 schemas and ChargePoint, with what 2.1 changed in them.

Plug & Charge messages, 2.1 against 2.0.1 (the schemas of the ``ocpp`` package):

- Authorize: ``certificate`` up to 10000 characters (5500), ``idToken`` up to 255 (36), the token
  ``type`` a free string (an enum), ``responderURL`` up to 2000 (512); the answer may carry tariff
  and allowed energy transfer fields, which the bridge does not send. The core answers as for 2.0.1.
- Get15118EVCertificate: ``exiRequest`` up to 11000 characters (5600) and ``exiResponse`` up to
  17000 (7500), so ISO 15118-20 installations with long chains fit; the new request fields
  ``maximumContractCertificateChains`` and ``prioritizedEMAIDs`` are accepted (the bridge installs
  the one contract of the PCID and sends no ``remainingContracts``).
- GetCertificateStatus: ``responderURL`` up to 2000 characters, ``ocspResult`` up to 18000 (5500).
- SignCertificate / CertificateSigned: ``V2G20Certificate``, ``hashRootCertificate`` and
  ``requestId`` (:mod:`pnc.server.ocpp.sign21`).
- InstallCertificate / GetInstalledCertificateIds: the new type ``OEMRootCertificate``;
  ``certificate`` up to 10000 characters. TriggerMessage: ``SignV2G20Certificate`` and
  ``CustomTrigger``. StatusInfo.additionalInfo up to 1024 characters (512).
- OCPP-J: SEND frames (no answer) and CALLRESULTERROR (see :mod:`pnc.server.ocpp.session`).
- GetCertificateChainStatus (new): answered from what the bridge can vouch for
  (:mod:`pnc.server.ocpp.chain_status21`).

Standalone answers to the other calls come from ``@on`` handlers of an ``ocpp.v21.ChargePoint``, as
for 2.0.1; 2.1's new calls from the charger get valid minimal answers (no DER control, battery
swap, dynamic schedules, periodic event streams or VAT validation behind the bridge).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

from ocpp.routing import on  # type: ignore[import-untyped]
from ocpp.v21 import ChargePoint, call_result  # type: ignore[import-untyped]
from ocpp.v21.enums import Action  # type: ignore[import-untyped]

from pnc.core.get_certificate import EXI_RESPONSE_LIMIT_21
from pnc.server.ocpp import chain_status21, sign21, v201
from pnc.server.ocpp.dialect import CoreRoute, Dialect, WireCall

VERSION = "2.1"
SUBPROTOCOL = "ocpp2.1"

KNOWN_ACTIONS: frozenset[str] = frozenset(a.value for a in Action)

# OCPP 2.1 Part 2: what a charging station sends to the CSMS (2.0.1's and the new ones)
CHARGER_ACTIONS: frozenset[str] = v201.CHARGER_ACTIONS | {
    "BatterySwap",
    "ClosePeriodicEventStream",
    "GetCertificateChainStatus",
    "NotifyDERAlarm",
    "NotifyDERStartStop",
    "NotifyPriorityCharging",
    "NotifySettlement",
    "OpenPeriodicEventStream",
    "PullDynamicScheduleUpdate",
    "ReportDERControl",
    "VatNumberValidation",
}
assert CHARGER_ACTIONS <= KNOWN_ACTIONS
# ... and the ones a CSMS sends to a charging station (DataTransfer goes both ways)
CSMS_ACTIONS: frozenset[str] = (KNOWN_ACTIONS - CHARGER_ACTIONS) | {"DataTransfer"}


CORE_ROUTES: dict[str, CoreRoute] = {
    **v201.core_routes(VERSION, exi_response_limit=EXI_RESPONSE_LIMIT_21),
    "SignCertificate": sign21.sign_certificate,
    "GetCertificateChainStatus": chain_status21.get_certificate_chain_status,
}


class Dialect21(Dialect):
    """The bridge's calls in 2.0.1 terms are valid 2.1 calls; CertificateSigned names ISO 15118-20
    V2G certificates ``V2G20Certificate``."""

    async def call(
        self, wire: WireCall, station_id: str, action: str, payload: dict[str, Any], timeout: float
    ) -> dict[str, Any]:
        if action == "CertificateSigned":
            payload = sign21.certificate_signed(payload)
        return await wire(action, payload, timeout, action)


DIALECT = Dialect21()

_F = TypeVar("_F", bound=Callable[..., Any])


def _on(action: Any) -> Callable[[_F], _F]:
    """``ocpp.routing.on`` without the package's schema validation (the session validates first)."""
    decorator: Callable[[_F], _F] = on(action, skip_schema_validation=True)
    return decorator


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StandaloneCsms21(ChargePoint):  # type: ignore[misc]
    """Valid minimal OCPP 2.1 CSMS answers to the charger's calls that are not Plug & Charge."""

    def __init__(self, station_id: str, heartbeat_interval: int) -> None:
        super().__init__(station_id, connection=None)
        self.heartbeat_interval = heartbeat_interval

    answer = v201.StandaloneCsms.answer  # the @on handler of the action, camelCase in and out
    fixed_answers: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        **v201.FIXED_ANSWERS,
        **dict.fromkeys(
            (
                "BatterySwap", "NotifyDERAlarm", "NotifyDERStartStop", "ReportDERControl",
                "NotifyPriorityCharging", "NotifySettlement", "ClosePeriodicEventStream",
            ),
            v201.NO_FIELDS,
        ),
        "OpenPeriodicEventStream": {"status": "Rejected"},  # nobody here reads them
        "PullDynamicScheduleUpdate": {"status": "Rejected"},  # no dynamic schedules here
    }  # fmt: skip

    @_on(Action.boot_notification)
    def on_boot_notification(self, **_: Any) -> Any:
        return call_result.BootNotification(
            current_time=_now(), interval=self.heartbeat_interval, status="Accepted"
        )

    @_on(Action.heartbeat)
    def on_heartbeat(self, **_: Any) -> Any:
        return call_result.Heartbeat(current_time=_now())

    # -- new in 2.1

    @_on(Action.vat_number_validation)
    def on_vat_number_validation(self, vat_number: str, **_: Any) -> Any:
        return call_result.VatNumberValidation(vat_number=vat_number, status="Rejected")


__all__ = [
    "CHARGER_ACTIONS",
    "CORE_ROUTES",
    "CSMS_ACTIONS",
    "DIALECT",
    "KNOWN_ACTIONS",
    "SUBPROTOCOL",
    "VERSION",
    "Dialect21",
    "StandaloneCsms21",
]
