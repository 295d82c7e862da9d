"""SDP on loopback: the charger answers with its TCP port and security, the EV finds it and
charges there; garbage is ignored; silence is an error after the attempts."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from pathlib import Path

import pytest
from sim_helpers import charger_tls, material, one_session, policy, started

from pki.ca import CaService
from pnc.sim.errors import SimError
from pnc.sim.ev import EvSimulator
from pnc.sim.sdp import Discovered, discover, response_address
from v2g import v2gtp


def test_the_ev_finds_the_charger_with_sdp_and_charges_there() -> None:
    async def main() -> None:
        charger = await started("din", None)
        try:
            udp = await charger.start_sdp(0)
            found = await discover("127.0.0.1", udp, tls=False)
            assert found == Discovered("127.0.0.1", charger.port, tls=False)
            report, _ = await one_session(charger, EvSimulator(found.host, found.port, policy("din")))
            assert report.outcome == "End"
        finally:
            await charger.stop()

    asyncio.run(main())


def test_a_tls_charger_says_so_and_ignores_what_is_no_sdp_request(service: CaService, tmp_path: Path) -> None:
    m = material(service, "iso2", tmp_path)

    async def main() -> None:
        charger = await started("iso2", charger_tls("iso2", m))
        try:
            udp = await charger.start_sdp(0)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.sendto(b"not a V2GTP frame", ("127.0.0.1", udp))
                s.sendto(v2gtp.build_frame(v2gtp.PayloadType.SDP_RESPONSE, bytes(20)), ("127.0.0.1", udp))
            found = await discover("127.0.0.1", udp, tls=True)
            assert found.tls is True and found.port == charger.port
        finally:
            await charger.stop()

    asyncio.run(main())


def test_no_answer_is_an_error_after_the_attempts() -> None:
    async def main() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
            silent.bind(("127.0.0.1", 0))
            port = silent.getsockname()[1]
            with pytest.raises(SimError, match=r"no valid answer .* after 3 requests"):
                await discover("127.0.0.1", port, tls=False, attempts=3, timeout=0.05)
            assert len([silent.recv(100) for _ in range(3)]) == 3  # three requests went out

    asyncio.run(main())


def test_ipv4_addresses_travel_as_ipv4_mapped_ipv6() -> None:
    assert response_address("127.0.0.1") == ipaddress.IPv6Address("::ffff:127.0.0.1")
    assert response_address("fe80::1") == ipaddress.IPv6Address("fe80::1")
