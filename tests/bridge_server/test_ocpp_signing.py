"""SignCertificate through the wire: answered at once, signed in the background, CertificateSigned
(leaf, Sub-CA 2, Sub-CA 1) sent to the charger, its answer recorded; a charger that went away gets
its certificate when it reconnects."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from harness import BridgeFactory, basic, charger, raw_exchange, run
from ocpp.v201 import call
from sqlalchemy import text
from websockets.asyncio.client import connect

from pki.ca import CaService
from pki.certinfo import load_pem_chain, parse_certificate
from pnc.core.stations import StationRegistry

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bridge_core"))
from bridge_helpers import EVSE_ID, SECC_ID, make_csr

PASSWORD = "charger-password-0001"


@pytest.fixture
def station(service: CaService) -> str:
    StationRegistry.of(service).add("CS-1", 1, PASSWORD)
    return "CS-1"


def jobs(service: CaService) -> list[tuple[Any, ...]]:
    with service.store.engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text("SELECT certificate_type, status, attempts FROM sign_jobs ORDER BY id")
            )
        ]


async def until(predicate: Any, timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.05)


def test_a_v2g_csr_is_accepted_at_once_and_the_chain_delivered(
    bridge: BridgeFactory, service: CaService, station: str
) -> None:
    async def scenario(url: str) -> tuple[Any, list[Any]]:
        async with charger(url, password=PASSWORD) as (cp, _ws):
            answer = await cp.call(
                call.SignCertificate(csr=make_csr(SECC_ID), certificate_type="V2GCertificate"), suppress=False
            )
            await until(lambda: any(r[0] == "CertificateSigned" for r in cp.received))
            await until(lambda: jobs(service) == [("V2GCertificate", "delivered", 1)])
            return answer, cp.received

    with bridge() as b:
        answer, received = run(scenario(b.url(station)))
        sent = b.ctx.metrics.messages.value("sent", "CertificateSigned", "2.0.1", "CallResult")
    assert answer.status == "Accepted"
    [(action, signed)] = received
    assert action == "CertificateSigned"
    assert signed["certificate_type"] == "V2GCertificate"
    chain = [parse_certificate(der) for der in load_pem_chain(signed["certificate_chain"])]
    assert [c.subject.common_name for c in chain] == [SECC_ID, "CPO Sub-CA 2 15118-2", "CPO Sub-CA 1 15118-2"]
    assert sent == 1


def test_without_a_type_the_station_gets_both_certificates(bridge: BridgeFactory, service: CaService) -> None:
    """SignCombinedCertificate: one CSR for both, so the station identity is an EVSE ID (a valid
    SECC CN) and the CSR has no DC (which a station certificate must not have)."""
    StationRegistry.of(service).add(EVSE_ID, 1, PASSWORD)

    async def scenario(url: str) -> list[str]:
        async with charger(url, EVSE_ID, password=PASSWORD) as (cp, _ws):  # the URL has it percent-encoded
            answer = await cp.call(call.SignCertificate(csr=make_csr(EVSE_ID, dc=None)), suppress=False)
            assert answer.status == "Accepted"
            await until(lambda: len([r for r in cp.received if r[0] == "CertificateSigned"]) == 2)
            return sorted(r[1]["certificate_type"] for r in cp.received)

    with bridge() as b:
        assert run(scenario(b.url(quote(EVSE_ID, safe="")))) == [
            "ChargingStationCertificate",
            "V2GCertificate",
        ]


def test_what_is_not_a_csr_is_rejected_and_nothing_is_signed(
    bridge: BridgeFactory, service: CaService, station: str
) -> None:
    async def scenario(url: str) -> list[Any]:
        async with connect(
            url, subprotocols=["ocpp2.0.1"], additional_headers=basic(station, PASSWORD)
        ) as ws:
            return [
                await raw_exchange(
                    ws,
                    [
                        2,
                        "n",
                        "SignCertificate",
                        {"csr": "this is not a CSR", "certificateType": "V2GCertificate"},
                    ],
                ),
                await raw_exchange(
                    ws,
                    [
                        2,
                        "w",
                        "SignCertificate",
                        {"csr": make_csr("CS-OTHER"), "certificateType": "ChargingStationCertificate"},
                    ],
                ),
                await raw_exchange(ws, [2, "h", "Heartbeat", {}]),
            ]

    with bridge() as b:
        not_csr, wrong_station, alive = run(scenario(b.url(station)))
    for answer in (not_csr, wrong_station):
        assert answer[0] == 3 and answer[2]["status"] == "Rejected", answer
        assert answer[2]["statusInfo"]["reasonCode"] == "InvalidCSR"
    assert alive[:2] == [3, "h"]
    assert jobs(service) == []


def test_a_charger_that_went_away_gets_its_certificate_when_it_reconnects(
    bridge: BridgeFactory, service: CaService, station: str
) -> None:
    async def scenario(url: str) -> list[Any]:
        async with connect(
            url, subprotocols=["ocpp2.0.1"], additional_headers=basic(station, PASSWORD)
        ) as ws:
            answer = await raw_exchange(
                ws,
                [2, "s", "SignCertificate", {"csr": make_csr(SECC_ID), "certificateType": "V2GCertificate"}],
            )
            assert answer[2] == {"status": "Accepted"}
        # gone before CertificateSigned could be answered; the job stays open without spending attempts
        await asyncio.sleep(0.5)
        assert [j[:2] for j in jobs(service)] in (
            [("V2GCertificate", "signed")],
            [("V2GCertificate", "pending")],
        )
        async with charger(url, password=PASSWORD) as (cp, _ws):
            await until(lambda: any(r[0] == "CertificateSigned" for r in cp.received))
            await until(lambda: [j[:2] for j in jobs(service)] == [("V2GCertificate", "delivered")])
            return cp.received

    with bridge() as b:
        received = run(scenario(b.url(station)))
    assert [r[0] for r in received] == ["CertificateSigned"]
