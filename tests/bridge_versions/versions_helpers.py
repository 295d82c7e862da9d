"""Chargers of OCPP 1.6 and 2.1 built on the ``ocpp`` package (charge-point role, over real
websockets) and waiting for the bridge's sign jobs."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager
from typing import Any

from harness import basic
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v21 import ChargePoint as ChargePoint21
from ocpp.v21 import call_result as result21
from ocpp.v21.enums import Action as Action21
from websockets.asyncio.client import ClientConnection, connect

BridgeFactory = Callable[..., AbstractContextManager[Any]]
VENDOR = "org.openchargealliance.iso15118pnc"
PASSWORD = "charger-password-0001"


class Charger16(ChargePoint16):  # type: ignore[misc]
    """An OCPP 1.6 charge point with Plug & Charge over DataTransfer and the security extensions;
    records what the central system sends and answers as ``answers`` say."""

    def __init__(self, station_id: str, connection: Any) -> None:
        super().__init__(station_id, connection)
        self.received: list[tuple[str, dict[str, Any]]] = []
        # DataTransfer messageId (or native action) -> the answer to give
        self.answers: dict[str, dict[str, Any]] = {}

    async def pnc(self, message_id: str, request: dict[str, Any] | str | None) -> tuple[str, Any]:
        """A Plug & Charge DataTransfer: (status, data parsed as JSON when it is JSON)."""
        data = request if isinstance(request, str) or request is None else json.dumps(request)
        result = await self.call(call16.DataTransfer(vendor_id=VENDOR, message_id=message_id, data=data))
        try:
            return result.status, json.loads(result.data) if result.data is not None else None
        except ValueError:
            return result.status, result.data

    @on(Action16.data_transfer)
    def on_data_transfer(self, vendor_id: str, message_id: str | None = None, data: str | None = None) -> Any:
        inner = json.loads(data) if data is not None else None
        self.received.append((f"DataTransfer.{message_id}", {"vendor_id": vendor_id, "data": inner}))
        answer = self.answers.get(f"DataTransfer.{message_id}")
        if answer is None:
            answer = {"status": "Accepted", "data": {"status": "Accepted"}}
        payload = answer.get("data")
        return result16.DataTransfer(
            status=answer["status"], data=payload if isinstance(payload, str | None) else json.dumps(payload)
        )

    def _native(self, action: str, payload: dict[str, Any], default: str) -> str:
        self.received.append((action, payload))
        return str(self.answers.get(action, {}).get("status", default))

    @on(Action16.certificate_signed)
    def on_certificate_signed(self, certificate_chain: str) -> Any:
        status = self._native("CertificateSigned", {"certificate_chain": certificate_chain}, "Accepted")
        return result16.CertificateSigned(status=status)

    @on(Action16.install_certificate)
    def on_install_certificate(self, certificate_type: str, certificate: str) -> Any:
        status = self._native("InstallCertificate", {"certificate_type": certificate_type}, "Accepted")
        return result16.InstallCertificate(status=status)

    @on(Action16.delete_certificate)
    def on_delete_certificate(self, certificate_hash_data: dict[str, Any]) -> Any:
        status = self._native("DeleteCertificate", certificate_hash_data, "Accepted")
        return result16.DeleteCertificate(status=status)

    @on(Action16.get_installed_certificate_ids)
    def on_get_installed_certificate_ids(self, certificate_type: str) -> Any:
        status = self._native(
            "GetInstalledCertificateIds", {"certificate_type": certificate_type}, "NotFound"
        )
        hash_data = self.answers.get("GetInstalledCertificateIds", {}).get("certificateHashData")
        return result16.GetInstalledCertificateIds(status=status, certificate_hash_data=hash_data)

    @on(Action16.extended_trigger_message)
    def on_extended_trigger_message(self, requested_message: str, **_: Any) -> Any:
        status = self._native("ExtendedTriggerMessage", {"requested_message": requested_message}, "Accepted")
        return result16.ExtendedTriggerMessage(status=status)

    @on(Action16.trigger_message)
    def on_trigger_message(self, requested_message: str, **kwargs: Any) -> Any:
        status = self._native(
            "TriggerMessage", {"requested_message": requested_message, **kwargs}, "Accepted"
        )
        return result16.TriggerMessage(status=status)


class Charger21(ChargePoint21):  # type: ignore[misc]
    """An OCPP 2.1 charging station recording the CSMS's calls."""

    def __init__(self, station_id: str, connection: Any) -> None:
        super().__init__(station_id, connection)
        self.received: list[tuple[str, dict[str, Any]]] = []

    @on(Action21.certificate_signed)
    def on_certificate_signed(self, certificate_chain: str, **kwargs: Any) -> Any:
        self.received.append(("CertificateSigned", {"certificate_chain": certificate_chain, **kwargs}))
        return result21.CertificateSigned(status="Accepted")

    @on(Action21.install_certificate)
    def on_install_certificate(self, certificate_type: str, certificate: str, **_: Any) -> Any:
        self.received.append(("InstallCertificate", {"certificate_type": certificate_type}))
        return result21.InstallCertificate(status="Accepted")

    @on(Action21.trigger_message)
    def on_trigger_message(self, requested_message: str, **kwargs: Any) -> Any:
        self.received.append(("TriggerMessage", {"requested_message": requested_message, **kwargs}))
        return result21.TriggerMessage(status="Accepted")

    @on(Action21.get_installed_certificate_ids)
    def on_get_installed_certificate_ids(self, **kwargs: Any) -> Any:
        self.received.append(("GetInstalledCertificateIds", kwargs))
        return result21.GetInstalledCertificateIds(status="NotFound")


@contextlib.asynccontextmanager
async def connected(
    cls: type[Any], url: str, subprotocol: str, *, password: str | None = PASSWORD, **options: Any
) -> AsyncIterator[tuple[Any, ClientConnection]]:
    """A charger of ``cls`` connected with ``subprotocol``, serving the bridge's calls."""
    station = url.rsplit("/", 1)[-1]
    headers = basic(station, password) if password is not None else {}
    async with connect(
        url, subprotocols=[subprotocol], additional_headers=headers, open_timeout=10, **options
    ) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == subprotocol
        cp = cls(station, ws)
        task = asyncio.create_task(cp.start())
        try:
            yield cp, ws
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def charger16(
    url: str, **options: Any
) -> contextlib.AbstractAsyncContextManager[tuple[Charger16, ClientConnection]]:
    return connected(Charger16, url, "ocpp1.6", **options)


def charger21(
    url: str, **options: Any
) -> contextlib.AbstractAsyncContextManager[tuple[Charger21, ClientConnection]]:
    return connected(Charger21, url, "ocpp2.1", **options)


async def signed(b: Any, timeout: float = 20) -> None:
    """Until the bridge's sign-job runner has signed and delivered what was asked of it."""
    await b.on_server(b.app.state.runner.wait_idle(timeout), timeout + 5)
