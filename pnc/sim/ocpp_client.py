"""The charger simulator's OCPP 2.0.1 connection to its CSMS (``pnc serve`` or any other).

A charging station in the ``ocpp`` package's ChargePoint role over ``websockets``: it boots
(BootNotification, StatusNotification), forwards the EV's certificate requests
(Get15118EVCertificate, OCPP M01/M02), authorizes (Authorize with the contract chain as PEM, OCPP
C07; or an idToken for external identification) and reports the transaction (TransactionEvent
Started/Updated/Ended with the energy meter), no more than the Plug & Charge journey needs.

Security profiles (OCPP 2.0.1 A00.FR): 1 - HTTP Basic authentication on ``ws://``; 2 - Basic
authentication on ``wss://`` (the CSMS's certificate checked against ``ssl_context``'s roots);
3 - ``wss://`` with the station's client certificate in ``ssl_context`` and no password.

Every call is recorded with its duration (:attr:`CsmsClient.calls`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import itertools
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

from ocpp.exceptions import OCPPError  # type: ignore[import-untyped]
from ocpp.v201 import ChargePoint, call  # type: ignore[import-untyped]
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from pnc.sim.errors import SimError

SUBPROTOCOL = "ocpp2.0.1"
CONNECT_TIMEOUT = 10.0
CALL_TIMEOUT = 10.0
EVSE_ID = 1
CONNECTOR_ID = 1


def now_text() -> str:
    """An OCPP date-time: UTC, milliseconds, ``Z``."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class OcppCall:
    """One call the charger made: its action, what it asked and what came back, how long it took."""

    action: str
    request: str
    result: str
    seconds: float


@dataclass
class CsmsSettings:
    """Where and how the charger connects (see the module docstring for the security profiles)."""

    url: str  # ws(s)://host:port/ocpp/{stationId}: the station id is the last path segment
    password: str | None = None  # HTTP Basic authentication (profiles 1 and 2)
    ssl_context: ssl.SSLContext | None = None  # wss:// (profiles 2 and 3)
    vendor: str = "pnc"
    connect_timeout: float = 0.0  # keep trying this long while the CSMS refuses connections
    model: str = "pnc-sim-charger"

    @property
    def station_id(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]

    @property
    def security_profile(self) -> int:
        if not self.url.startswith("wss://"):
            return 1
        return 2 if self.password is not None else 3


class _Station(ChargePoint):  # type: ignore[misc]
    """The ``ocpp`` ChargePoint of the simulator (the CSMS's calls it does not handle get
    NotImplemented from the package)."""


@dataclass
class _Transaction:
    transaction_id: str
    seq: itertools.count[int] = field(default_factory=itertools.count)


class CsmsClient:
    """One charging station's OCPP 2.0.1 connection (see the module docstring)."""

    def __init__(self, settings: CsmsSettings) -> None:
        if not settings.url.startswith(("ws://", "wss://")):
            raise SimError(f"the CSMS URL {settings.url!r} is no ws:// or wss:// URL")
        if settings.url.startswith("ws://") and settings.password is None:
            raise SimError("security profile 1 (ws://) authenticates with a Basic Auth password: give one")
        self.settings = settings
        self.calls: list[OcppCall] = []
        self.boot_status: str | None = None
        self._ws: ClientConnection | None = None
        self._station: _Station | None = None
        self._task: asyncio.Task[None] | None = None
        self._transactions: dict[str, _Transaction] = {}
        self._tx_ids = itertools.count(1)

    # -- connection

    async def connect(self) -> str:
        """Open the websocket, boot and report the connector Available; returns the boot status."""
        s = self.settings
        headers = {}
        if s.password is not None:
            token = base64.b64encode(f"{s.station_id}:{s.password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        options: dict[str, Any] = {"ssl": s.ssl_context} if s.url.startswith("wss://") else {}
        deadline = time.monotonic() + s.connect_timeout
        while True:
            try:
                self._ws = await connect(
                    s.url,
                    subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
                    additional_headers=headers,
                    open_timeout=CONNECT_TIMEOUT,
                    **options,
                )
                break
            except ConnectionRefusedError as exc:  # the CSMS may still be starting
                if time.monotonic() >= deadline:
                    raise SimError(f"cannot connect to the CSMS at {s.url}: {exc}") from None
                await asyncio.sleep(0.2)
            except (OSError, TimeoutError, WebSocketException, ssl.SSLError) as exc:
                raise SimError(
                    f"cannot connect to the CSMS at {s.url}: {type(exc).__name__}: {exc}"
                ) from None
        if self._ws.subprotocol != SUBPROTOCOL:
            await self._ws.close()
            raise SimError(f"the CSMS at {s.url} does not speak {SUBPROTOCOL}")
        self._station = _Station(s.station_id, self._ws, response_timeout=CALL_TIMEOUT)
        self._task = asyncio.create_task(self._serve())
        result = await self._call(
            call.BootNotification(
                charging_station={"vendor_name": s.vendor, "model": s.model}, reason="PowerUp"
            ),
            "PowerUp",
        )
        self.boot_status = str(result.status)
        self._record_result(f"{self.boot_status}, interval {result.interval} s")
        if self.boot_status != "Accepted":
            raise SimError(f"the CSMS answered BootNotification with {self.boot_status}")
        await self.status("Available")
        return self.boot_status

    async def _serve(self) -> None:
        assert self._station is not None
        with contextlib.suppress(WebSocketException, asyncio.CancelledError):
            await self._station.start()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._ws is not None:
            await self._ws.close()

    @property
    def connected(self) -> bool:
        return self._ws is not None and self._ws.state.name == "OPEN"

    # -- calls

    async def _call(self, payload: Any, request: str) -> Any:
        if self._station is None:
            raise SimError("the charger is not connected to its CSMS")
        action = type(payload).__name__
        started = time.perf_counter()
        try:
            result = await self._station.call(payload, suppress=False)
        except OCPPError as exc:
            self.calls.append(OcppCall(action, request, f"CallError {type(exc).__name__}", _since(started)))
            raise SimError(f"the CSMS answered {action} with a CallError: {exc}") from None
        except (TimeoutError, WebSocketException) as exc:
            self.calls.append(OcppCall(action, request, type(exc).__name__, _since(started)))
            raise SimError(f"{action}: no answer from the CSMS ({type(exc).__name__})") from None
        self.calls.append(OcppCall(action, request, "", _since(started)))
        return result

    def _record_result(self, text: str) -> None:
        last = self.calls[-1]
        self.calls[-1] = OcppCall(last.action, last.request, text, last.seconds)

    async def status(self, connector_status: str) -> None:
        """StatusNotification of the simulator's one connector."""
        await self._call(
            call.StatusNotification(
                timestamp=now_text(),
                connector_status=connector_status,
                evse_id=EVSE_ID,
                connector_id=CONNECTOR_ID,
            ),
            connector_status,
        )
        self._record_result("ok")

    async def get_15118_ev_certificate(
        self, schema_version: str, action: str, exi_request: bytes
    ) -> bytes | None:
        """Get15118EVCertificate; the EXI response (None when the CSMS had none: status Failed)."""
        result = await self._call(
            call.Get15118EVCertificate(
                iso15118_schema_version=schema_version,
                action=action,
                exi_request=base64.b64encode(exi_request).decode(),
            ),
            f"{action}, {len(exi_request)} bytes EXI",
        )
        status = str(result.status)
        exi = base64.b64decode(result.exi_response) if result.exi_response else b""
        info = result.status_info or {}
        reason = f" ({info.get('reason_code')})" if info.get("reason_code") else ""
        self._record_result(f"{status}{reason}, {len(exi)} bytes EXI")
        return exi or None

    async def authorize(
        self, id_token: str, token_type: str, certificate_pem: str | None = None
    ) -> tuple[str, str | None]:
        """Authorize; returns (idTokenInfo.status, certificateStatus or None)."""
        result = await self._call(
            call.Authorize(id_token={"id_token": id_token, "type": token_type}, certificate=certificate_pem),
            f"{token_type} {id_token}" + (" + certificate chain" if certificate_pem else ""),
        )
        status = str(result.id_token_info["status"])
        certificate_status = str(result.certificate_status) if result.certificate_status else None
        self._record_result(status + (f" / {certificate_status}" if certificate_status else ""))
        return status, certificate_status

    async def transaction_event(
        self,
        key: str,
        event_type: str,
        trigger_reason: str,
        *,
        energy_wh: float | None = None,
        id_token: tuple[str, str] | None = None,
        stopped_reason: str | None = None,
    ) -> None:
        """TransactionEvent of the transaction ``key`` (a session of the simulator)."""
        tx = self._transactions.get(key)
        if tx is None:
            tx = self._transactions[key] = _Transaction(f"pnc-sim-{next(self._tx_ids)}")
        info: dict[str, Any] = {"transaction_id": tx.transaction_id}
        if event_type == "Started":
            info["charging_state"] = "Charging"
        if stopped_reason is not None:
            info["stopped_reason"] = stopped_reason
        meter = None
        if energy_wh is not None:
            meter = [
                {
                    "timestamp": now_text(),
                    "sampled_value": [
                        {"value": round(energy_wh, 3), "measurand": "Energy.Active.Import.Register"}
                    ],
                }
            ]
        await self._call(
            call.TransactionEvent(
                event_type=event_type,
                timestamp=now_text(),
                trigger_reason=trigger_reason,
                seq_no=next(tx.seq),
                transaction_info=info,
                meter_value=meter,
                evse={"id": EVSE_ID, "connector_id": CONNECTOR_ID} if event_type == "Started" else None,
                id_token={"id_token": id_token[0], "type": id_token[1]} if id_token else None,
            ),
            f"{event_type} {tx.transaction_id}" + (f", {energy_wh:.1f} Wh" if energy_wh is not None else ""),
        )
        self._record_result("ok")
        if event_type == "Ended":
            del self._transactions[key]


def _since(started: float) -> float:
    return time.perf_counter() - started


__all__ = ["CONNECTOR_ID", "EVSE_ID", "SUBPROTOCOL", "CsmsClient", "CsmsSettings", "OcppCall", "now_text"]
