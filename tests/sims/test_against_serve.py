"""The charger simulator against ``pnc serve`` started as a real server (a subprocess on a loopback
port): boot, certificate installation, authorization and the transaction over OCPP 2.0.1; a
revocation by another process refuses the next authorization; a wrong password gets no connection."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from ops_helpers import PASSPHRASE, Pnc
from sim_helpers import EMAID, PCID, charger_tls, ev_tls, material, one_session, policy, started

from pki.ca import CaService
from pki.contracts import ContractRegistry
from pki.profiles import Role
from pnc.core.stations import StationRegistry
from pnc.sim.errors import SimError
from pnc.sim.ev import EvSimulator
from pnc.sim.ocpp_client import CsmsClient, CsmsSettings

PASSWORD = "station-password-0001"


@contextlib.contextmanager
def running_serve(home: Path, log_file: Path, *args: str) -> Iterator[int]:
    """``pnc serve *args`` on ``home``; yields its port once /healthz answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**os.environ, "PNC_HOME": str(home), "PNC_CA_PASSPHRASE": PASSPHRASE, "PNC_ACTOR": "test-operator"}
    log = log_file.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "pnc", "serve", "--port", str(port), *args], env=env, stdout=log, stderr=log
    )
    scheme = "https" if "--tls-cert" in args else "http"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, log_file.read_text()
            try:
                if (
                    httpx.get(f"{scheme}://127.0.0.1:{port}/healthz", timeout=2, verify=False).status_code
                    == 200
                ):
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


@pytest.fixture
def serve(home: Path, tmp_path: Path) -> Iterator[int]:
    with running_serve(home, tmp_path / "serve.log") as port:
        yield port


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


def test_the_charger_connects_with_security_profiles_2_and_3(
    service: CaService, home: Path, tmp_path: Path
) -> None:
    """wss:// with Basic Auth (2), and with the station's certificate from the home's charging-station
    CA instead of a password (3); the station's registration decides which one the bridge accepts."""
    from harness import server_certificate

    from pnc.sim.credentials import pem

    cert, key, client = server_certificate(tmp_path)
    registry = StationRegistry.of(service)
    registry.add("CS-P2", 2, PASSWORD)
    registry.add("CS-P3", 3)
    issued = service.issue_leaf(Role.CHARGING_STATION, "CS-P3")
    (tmp_path / "cs.pem").write_bytes(issued.chain_pem())
    (tmp_path / "cs.key").write_bytes(
        issued.private_key.private_bytes(  # type: ignore[union-attr]
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with_certificate = ssl.create_default_context(cafile=str(cert))
    with_certificate.load_cert_chain(str(tmp_path / "cs.pem"), str(tmp_path / "cs.key"))
    assert pem(issued.certificate) in (tmp_path / "cs.pem").read_bytes()

    async def boot(url: str, password: str | None, context: ssl.SSLContext) -> str | None:
        csms = CsmsClient(CsmsSettings(url, password=password, ssl_context=context))
        try:
            return await csms.connect()
        except SimError:
            return None
        finally:
            await csms.close()

    async def main(port: int) -> dict[str, str | None]:
        base = f"wss://127.0.0.1:{port}/ocpp"
        return {
            "p2": await boot(f"{base}/CS-P2", PASSWORD, client),
            "p2 wrong password": await boot(f"{base}/CS-P2", "wrong-password-0001", client),
            "p3": await boot(f"{base}/CS-P3", None, with_certificate),
            "p3 without certificate": await boot(f"{base}/CS-P3", None, client),
        }

    with running_serve(home, tmp_path / "serve.log", "--tls-cert", str(cert), "--tls-key", str(key)) as port:
        results = asyncio.run(main(port))
    assert results == {
        "p2": "Accepted",
        "p2 wrong password": None,
        "p3": "Accepted",
        "p3 without certificate": None,
    }
    assert CsmsSettings("wss://x/ocpp/CS-P3").security_profile == 3
