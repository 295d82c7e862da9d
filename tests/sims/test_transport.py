"""V2GTP on real sockets with the TLS each standard prescribes: what the handshake negotiated, as
the ssl objects of both ends report it, and the connections each side must refuse."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest
from sim_helpers import charger_tls, ev_tls, material, one_session, policy, started

from pki.ca import CaService
from pnc.sim.credentials import read_chain
from pnc.sim.errors import SimError
from pnc.sim.ev import EvSimulator
from pnc.sim.transport import TLS12_CIPHERS, ev_context, secc_context


def test_iso15118_2_negotiates_tls_1_2_with_the_ecdhe_ecdsa_suite_and_no_client_certificate(
    service: CaService, tmp_path: Path
) -> None:
    m = material(service, "iso2", tmp_path)

    async def main() -> None:
        charger = await started("iso2", charger_tls("iso2", m))
        try:
            ev = EvSimulator("127.0.0.1", charger.port, policy("iso2"), tls=ev_tls("iso2", m))
            report, seen = await one_session(charger, ev)
        finally:
            await charger.stop()
        assert report.outcome == seen.outcome == "End"
        assert report.tls is not None and seen.tls is not None
        assert (report.tls.version, report.tls.cipher) == ("TLSv1.2", TLS12_CIPHERS)
        assert (seen.tls.version, seen.tls.cipher) == ("TLSv1.2", TLS12_CIPHERS)
        assert report.tls.peer_certificate == read_chain(m.secc.chain, "SECC")[0]
        assert seen.tls.peer_certificate is None  # no client authentication under -2
        assert report.protocol == seen.protocol == "iso2"

    asyncio.run(main())


def test_iso15118_20_negotiates_tls_1_3_and_the_charger_verifies_the_vehicle_certificate(
    service: CaService, tmp_path: Path
) -> None:
    m = material(service, "iso20", tmp_path)
    vehicle = read_chain(m.ev.chain, "vehicle")[0]
    secc = read_chain(m.secc.chain, "secc")[0]

    async def main() -> None:
        charger = await started("iso20", charger_tls("iso20", m))
        try:
            ev = EvSimulator("127.0.0.1", charger.port, policy("iso20"), tls=ev_tls("iso20", m))
            report, seen = await one_session(charger, ev)
        finally:
            await charger.stop()
        assert report.outcome == seen.outcome == "End"
        assert report.tls is not None and seen.tls is not None
        assert report.tls.version == seen.tls.version == "TLSv1.3"
        assert report.tls.peer_certificate == secc
        assert seen.tls.peer_certificate == vehicle  # mutual authentication happened
        assert report.protocol == "iso20-dc"

    asyncio.run(main())


def test_an_iso15118_20_charger_refuses_an_ev_without_a_vehicle_certificate(
    service: CaService, tmp_path: Path
) -> None:
    m = material(service, "iso20", tmp_path)

    async def main() -> None:
        charger = await started("iso20", charger_tls("iso20", m))
        try:
            ev = EvSimulator(
                "127.0.0.1", charger.port, policy("iso20"), tls=ev_tls("iso20", m, with_certificate=False)
            )
            # TLS 1.3: the client may finish its handshake before the server's alert arrives, so
            # the refusal shows at connect or as the connection's end before any response
            try:
                report = await asyncio.wait_for(ev.charge(), 30)
            except SimError as exc:
                assert "CERTIFICATE_REQUIRED" in str(exc).upper() or "alert" in str(exc)
            else:
                assert report.outcome == "Failed" and report.protocol is None and not report.exchanges
            seen = (await charger.wait_sessions(1, 30))[0]
        finally:
            await charger.stop()
        assert seen.outcome == "Failed" and seen.reason.startswith("TLS handshake failed")
        assert seen.protocol is None and not seen.requests

    asyncio.run(main())


def test_an_ev_refuses_a_charger_whose_certificate_is_not_under_its_v2g_root(
    service: CaService, tmp_path: Path
) -> None:
    m2 = material(service, "iso2", tmp_path / "iso2")
    m20 = material(service, "iso20", tmp_path / "iso20")

    async def main() -> None:
        charger = await started("iso2", charger_tls("iso2", m2))
        try:
            wrong_root = ev_context("iso2", m20.ev.v2g_roots)  # the -20 V2G root did not sign the -2 SECC
            ev = EvSimulator("127.0.0.1", charger.port, policy("iso2"), tls=wrong_root)
            with pytest.raises(SimError, match="CERTIFICATE_VERIFY_FAILED"):
                await ev.charge()
            seen = (await charger.wait_sessions(1, 30))[0]
        finally:
            await charger.stop()
        assert seen.outcome == "Failed" and "TLS handshake failed" in seen.reason

    asyncio.run(main())


def test_an_iso15118_2_charger_refuses_tls_1_3(service: CaService, tmp_path: Path) -> None:
    m = material(service, "iso2", tmp_path)

    async def main() -> None:
        charger = await started("iso2", charger_tls("iso2", m))
        try:
            modern = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            modern.minimum_version = ssl.TLSVersion.TLSv1_3
            modern.check_hostname = False
            modern.load_verify_locations(cafile=str(m.ev.v2g_roots))
            ev = EvSimulator("127.0.0.1", charger.port, policy("iso2"), tls=modern)
            with pytest.raises(SimError, match="cannot open a V2G connection"):
                await ev.charge()
        finally:
            await charger.stop()

    asyncio.run(main())


def test_din_runs_on_plain_tcp_and_tls_contexts_refuse_it(service: CaService, tmp_path: Path) -> None:
    async def main() -> None:
        charger = await started("din", None)
        try:
            ev = EvSimulator("127.0.0.1", charger.port, policy("din"))
            report, seen = await one_session(charger, ev)
        finally:
            await charger.stop()
        assert report.tls is None and seen.tls is None
        assert report.outcome == seen.outcome == "End" and report.protocol == "din"
        assert report.loops == 2 and report.energy_wh > 0

    asyncio.run(main())
    m = material(service, "iso2", tmp_path)
    with pytest.raises(SimError, match="plain TCP"):
        secc_context("din", m.secc.chain, m.secc.key)
    with pytest.raises(SimError, match="OEM root"):
        secc_context("iso20", m.secc.chain, m.secc.key)
    with pytest.raises(SimError, match="certificate and key"):
        ev_context("iso20", m.ev.v2g_roots)
    with pytest.raises(SimError, match="SECC certificate"):
        secc_context("iso2", m.secc.key, m.secc.key)
