"""Several bridge processes sharing Redis: a call made on one process reaches a 1.6 or 2.1 charger
held by another, which translates it for the charger's version (the router carries OCPP 2.0.1)."""

from __future__ import annotations

import uuid
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from harness import run
from versions_helpers import PASSWORD, BridgeFactory, charger16, charger21

from pki.ca import CaService
from pki.profiles import ProfileName, Role
from pnc.core.stations import StationRegistry
from pnc.server import commands


async def until_routable(b: Any, station: str) -> None:
    import asyncio

    for _ in range(200):
        if any(c.station_id == station for c in b.ctx.connections.connected()):
            return
        if await b.on_server(b.ctx.connections.locate(station)) is not None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{station} never became routable")


def test_a_call_on_one_process_reaches_a_1_6_and_a_2_1_charger_on_another(
    bridge: BridgeFactory, service: CaService, redis_url: str
) -> None:
    suffix = uuid.uuid4().hex[:8]
    s16, s21 = f"CS16-RT-{suffix}", f"CS21-RT-{suffix}"
    registry = StationRegistry.of(service)
    registry.add(s16, 1, PASSWORD)
    registry.add(s21, 1, PASSWORD)
    root = (
        x509.load_der_x509_certificate(service.roots(ProfileName.ISO15118_2)[Role.V2G_ROOT])
        .public_bytes(Encoding.PEM)
        .decode()
    )

    async def scenario(a: Any, b: Any) -> tuple[list[Any], list[Any], list[Any]]:
        async with charger16(a.url(s16)) as (cp16, _), charger21(a.url(s21)) as (cp21, _):
            await until_routable(b, s16)
            await until_routable(b, s21)
            answers = [
                await b.on_server(
                    commands.install_certificate(b.ctx.connections, s16, "V2GRootCertificate", root)
                ),
                await b.on_server(
                    commands.trigger_message(b.ctx.connections, s16, "SignChargingStationCertificate")
                ),
                await b.on_server(commands.trigger_message(b.ctx.connections, s21, "SignV2G20Certificate")),
            ]
            return answers, [n for n, _ in cp16.received], [n for n, _ in cp21.received]

    with (
        bridge(redis_url=redis_url, process_id=f"versions-a-{suffix}") as a,
        bridge(redis_url=redis_url, process_id=f"versions-b-{suffix}") as b,
    ):
        answers, received16, received21 = run(scenario(a, b))
    assert answers == [{"status": "Accepted"}] * 3
    assert received16 == ["DataTransfer.InstallCertificate", "ExtendedTriggerMessage"]
    assert received21 == ["TriggerMessage"]
