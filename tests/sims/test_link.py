"""The I/O loop of the simulators on real sockets with misbehaving peers: a peer that hangs up,
sends garbage or never answers ends the session with the standard's events, and the charger keeps
serving the next EV; the charger's mapping of OCPP answers to ISO 15118 ResponseCodes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from sim_helpers import one_session, policy, started

from pnc.sim.charger import ISO20_COMMON_MESSAGES, ocpp_schema_version, refusal_code
from pnc.sim.errors import SimError
from pnc.sim.ev import EvSessionReport, EvSimulator
from pnc.sim.ocpp_client import CsmsClient, CsmsSettings

Peer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def ev_against(peer: Peer) -> EvSessionReport:
    server = await asyncio.start_server(peer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        return await asyncio.wait_for(EvSimulator("127.0.0.1", port, policy("din")).charge(), 30)
    finally:
        server.close()
        await server.wait_closed()


def test_a_charger_that_hangs_up_ends_the_session_as_failed() -> None:
    async def peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        writer.close()

    report = asyncio.run(ev_against(peer))
    assert report.outcome == "Failed"
    assert "closed before SessionStop" in report.reason and not report.exchanges


def test_a_charger_that_sends_garbage_is_a_protocol_error() -> None:
    async def peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        await writer.drain()
        await reader.read(100)

    report = asyncio.run(ev_against(peer))
    assert report.outcome == "Failed" and report.reason.startswith("protocol error")


def test_a_charger_that_never_answers_trips_the_evcc_message_timeout() -> None:
    async def peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        await asyncio.sleep(10)

    report = asyncio.run(ev_against(peer))
    assert report.outcome == "Failed"
    assert report.reason.startswith("V2G_EVCC_Msg_Timeout (2.0 s) expired")
    assert 1.9 <= report.seconds < 5


def test_the_charger_survives_a_peer_that_sends_garbage_and_serves_the_next_ev() -> None:
    async def main() -> None:
        charger = await started("din", None)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", charger.port)
            writer.write(b"\x01\xfe\x80\x01\x00\x00\x00\x04junk")  # a V2GTP frame whose EXI is not SAP
            await writer.drain()
            assert await asyncio.wait_for(reader.read(100), 10) == b""  # the charger closed
            writer.close()
            bad = (await charger.wait_sessions(1, 10))[0]
            assert bad.outcome == "Failed" and bad.protocol is None
            report, seen = await one_session(charger, EvSimulator("127.0.0.1", charger.port, policy("din")))
            assert report.outcome == seen.outcome == "End"
            assert seen.authorization == ("Accepted (no CSMS)", None) and seen.authorized
        finally:
            await charger.stop()

    asyncio.run(main())


def test_ocpp_answers_become_the_response_codes_of_each_protocol() -> None:
    assert refusal_code("iso2", "CertificateRevoked", pnc=True) == "FAILED_CertificateRevoked"
    assert refusal_code("iso2", "ContractCancelled", pnc=True) == "FAILED_ContractCanceled"
    assert refusal_code("iso2", None, pnc=False) == "FAILED"
    assert refusal_code("iso20", "CertificateRevoked", pnc=True) == "WARNING_CertificateRevoked"
    assert refusal_code("iso20", "CertChainError", pnc=True) == "WARNING_CertificateValidationError"
    assert refusal_code("iso20", None, pnc=True) == "WARNING_GeneralPnCAuthorizationError"
    assert refusal_code("iso20", None, pnc=False) == "WARNING_EIMAuthorizationFailure"
    assert refusal_code("din", None, pnc=False) == "FAILED"
    assert ocpp_schema_version("urn:iso:std:iso:15118:-20:DC") == ISO20_COMMON_MESSAGES
    assert ocpp_schema_version("urn:iso:15118:2:2013:MsgDef") == "urn:iso:15118:2:2013:MsgDef"


def test_the_csms_settings_follow_the_ocpp_security_profiles() -> None:
    assert CsmsSettings("ws://h/ocpp/CS-1", password="p").security_profile == 1
    assert CsmsSettings("wss://h/ocpp/CS-1", password="p").security_profile == 2
    assert CsmsSettings("wss://h/ocpp/CS-1").security_profile == 3
    assert CsmsSettings("wss://h/ocpp/CS-1/").station_id == "CS-1"
    with pytest.raises(SimError, match="Basic Auth password"):
        CsmsClient(CsmsSettings("ws://h/ocpp/CS-1"))
    with pytest.raises(SimError, match="no ws:// or wss:// URL"):
        CsmsClient(CsmsSettings("http://h/ocpp/CS-1", password="p"))


def test_without_tls_the_charger_offers_external_payment_only() -> None:
    async def main() -> None:
        charger = await started("iso2", None)
        try:
            assert charger.secc_config.payment_options == ("ExternalPayment",)
            pnc_ev = policy("iso2")
            pnc_ev.payment = "Contract"  # prefers PnC, but has no contract: EIM is what remains
            report, seen = await one_session(charger, EvSimulator("127.0.0.1", charger.port, pnc_ev))
        finally:
            await charger.stop()
        assert report.outcome == "End" and report.tls is None
        assert seen.payment == "EIM" and report.authorized is not None

    asyncio.run(main())
