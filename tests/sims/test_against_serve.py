"""The charger simulator against ``pnc serve`` started as a real server (a subprocess on a loopback
port): boot, certificate installation, authorization and the transaction over OCPP 2.0.1; a
revocation by another process refuses the next authorization; a wrong password gets no connection."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from ops_helpers import PASSPHRASE, Pnc
from sim_helpers import EMAID, PCID, charger_tls, ev_tls, material, one_session, policy, started

from pki.ca import CaService
from pki.contracts import ContractRegistry
from pnc.core.stations import StationRegistry
from pnc.sim.errors import SimError
from pnc.sim.ev import EvSimulator
from pnc.sim.ocpp_client import CsmsClient, CsmsSettings

PASSWORD = "station-password-0001"


@pytest.fixture
def serve(home: Path, tmp_path: Path) -> Iterator[int]:
    """``pnc serve`` on the test's home; yields its port once /healthz answers."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**os.environ, "PNC_HOME": str(home), "PNC_CA_PASSPHRASE": PASSPHRASE, "PNC_ACTOR": "test-operator"}
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "pnc", "serve", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "pnc serve did not become healthy"
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(20)
        log.close()


def test_the_charger_installs_authorizes_and_reports_through_pnc_serve(
    service: CaService, pnc: Pnc, serve: int, tmp_path: Path
) -> None:
    StationRegistry.of(service).add("CS-1", 1, PASSWORD)
    ContractRegistry.of(service).add(EMAID, pcid=PCID)
    m = material(service, "iso2", tmp_path)
    url = f"ws://127.0.0.1:{serve}/ocpp/CS-1"

    async def main() -> None:
        csms = CsmsClient(CsmsSettings(url, password=PASSWORD))
        charger = await started("iso2", charger_tls("iso2", m), csms)
        try:
            ev = EvSimulator("127.0.0.1", charger.port, policy("iso2", m, pnc=True), tls=ev_tls("iso2", m))
            first, seen = await one_session(charger, ev)
            assert first.outcome == seen.outcome == "End", (first.reason, seen.reason)
            assert first.installed_emaid == EMAID and first.authorized == "PnC" and first.energy_wh > 0
            assert seen.installation is not None and seen.installation.startswith("Accepted")
            assert seen.authorization == ("Accepted", "Accepted")
            calls = [(c.action, c.result.split(",")[0]) for c in csms.calls]
            assert calls == [
                ("BootNotification", "Accepted"),
                ("StatusNotification", "ok"),
                ("StatusNotification", "ok"),  # Occupied
                ("Get15118EVCertificate", "Accepted"),
                ("Authorize", "Accepted / Accepted"),
                ("TransactionEvent", "ok"),  # Started
                ("TransactionEvent", "ok"),  # Updated: energy flows
                ("TransactionEvent", "ok"),  # Ended
                ("StatusNotification", "ok"),  # Available
            ]
            # an operator revokes the contract certificate in another process
            serial = ContractRegistry.of(service).get(EMAID).certificate_serial
            assert serial is not None
            pnc("pki", "revoke", serial, "--reason", "key-compromise")
            await asyncio.sleep(1.2)  # pnc serve reads the store's revocation epoch at most once a second
            second, refused = await one_session(charger, ev)
        finally:
            await charger.stop()
        assert refused.authorization == ("Invalid", "CertificateRevoked")
        assert second.outcome == "Failed" and second.failed_code == "FAILED_CertificateRevoked"
        assert second.energy_wh == 0 and "CertificateInstallationReq" not in second.requests()

    asyncio.run(main())


def test_a_charger_with_a_wrong_password_gets_no_connection(service: CaService, serve: int) -> None:
    StationRegistry.of(service).add("CS-1", 1, PASSWORD)

    async def main() -> None:
        csms = CsmsClient(CsmsSettings(f"ws://127.0.0.1:{serve}/ocpp/CS-1", password="not-the-password"))
        with pytest.raises(SimError, match="cannot connect to the CSMS"):
            await started("din", None, csms)
        assert csms.boot_status is None and not csms.calls

    asyncio.run(main())
