"""Two ``pnc serve`` processes on one PostgreSQL and one Redis, as behind a TCP load balancer: a
REST call to process A reaches a charger connected to process B and returns its answer; both
list the charger (held by B); a key created once works on both; when B dies, A answers
station-not-connected at once, and the charger reconnecting to A is served by A."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from harness import charger
from ops_helpers import PASSPHRASE, make_pnc

from pki.ca import CaService
from pki.home import Home
from pki.profiles import ProfileName, Role
from pnc.core.apikeys import ApiKeys

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Serve:
    """One ``pnc serve`` process."""

    def __init__(self, home: Path, db_url: str, redis_url: str, name: str, log: Path) -> None:
        self.port = _free_port()
        self.name = name
        self.log = log
        env = {**os.environ, "PNC_CA_PASSPHRASE": PASSPHRASE, "PNC_HOME": str(home), "PNC_DB_URL": db_url}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pnc", "serve", "--port", str(self.port), "--redis-url", redis_url,
             "--process-id", name, "--allow-unknown-stations"],
            env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"),
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws(self, station_id: str) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp/{station_id}"

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"{self.name} exited {self.proc.returncode}: {self.log.read_text()[-2000:]}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.2)
        raise AssertionError(f"{self.name} did not become healthy: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def cluster(
    postgres_schema_url: str, redis_url: str, tmp_path: Path
) -> Iterator[tuple[Serve, Serve, CaService]]:
    db_url = postgres_schema_url
    pnc = make_pnc(tmp_path / "home", db_url)
    pnc("pki", "init", "--org", "Test CA", "--ocsp-url", "http://127.0.0.1:1/ocsp")
    a = Serve(pnc.home, db_url, redis_url, "bridge-a-" + secrets.token_hex(3), tmp_path / "a.log")
    b = Serve(pnc.home, db_url, redis_url, "bridge-b-" + secrets.token_hex(3), tmp_path / "b.log")
    service = CaService(Home(pnc.home), db_url=db_url, passphrase=PASSPHRASE.encode, actor="test")
    try:
        a.wait_ready()
        b.wait_ready()
        yield a, b, service
    finally:
        a.stop()
        b.stop()
        service.close()


def test_a_rest_call_to_one_process_reaches_a_charger_on_the_other(
    cluster: tuple[Serve, Serve, CaService],
) -> None:
    a, b, service = cluster
    station = "CS-TWO-" + secrets.token_hex(4).upper()
    token = ApiKeys.of(service).create("operator", "csms")[1]
    headers = {"Authorization": f"Bearer {token}"}
    root = service.roots(ProfileName.ISO15118_2)[Role.V2G_ROOT]
    root_pem = x509.load_der_x509_certificate(root).public_bytes(serialization.Encoding.PEM).decode()

    async def main() -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            async with charger(b.ws(station)) as (cp, _ws):
                answer = await http.post(
                    f"{a.url}/v1/stations/{station}/install-certificate",
                    json={"certificateType": "V2GRootCertificate", "certificate": root_pem},
                    headers=headers,
                )
                assert answer.status_code == 200, answer.text
                assert answer.json() == {"status": "Accepted"}
                assert cp.installed == [{"certificate_type": "V2GRootCertificate", "certificate": root_pem}]
                triggered = await http.post(
                    f"{a.url}/v1/stations/{station}/trigger-message",
                    json={"requestedMessage": "SignV2GCertificate"},
                    headers=headers,
                )
                assert triggered.json() == {"status": "Accepted"}
                ids = await http.get(f"{a.url}/v1/stations/{station}/certificates", headers=headers)
                assert ids.json()["status"] == "Accepted"
                # both processes list the charger, held by B (A's view is a snapshot: a few seconds)
                for _ in range(100):
                    rows = (await http.get(f"{a.url}/v1/stations", headers=headers)).json()
                    if any(r["stationId"] == station for r in rows):
                        break
                    await asyncio.sleep(0.1)
                [row] = [r for r in rows if r["stationId"] == station]
                assert row["connected"] and row["connection"]["processId"] == b.name
                here = (await http.get(f"{b.url}/v1/stations/{station}", headers=headers)).json()
                assert here["connection"]["processId"] == b.name
            # the charger left: A knows at once (B released its entry)
            for _ in range(50):
                gone = await http.post(
                    f"{a.url}/v1/stations/{station}/trigger-message",
                    json={"requestedMessage": "SignV2GCertificate"},
                    headers=headers,
                )
                if gone.status_code == 409:
                    break
                await asyncio.sleep(0.1)
            assert gone.status_code == 409 and gone.json()["error"] == "station-not-connected"
        audit = [e for e in service.store.audit_entries() if e.action == "api-install-certificate"]
        assert [e.subject for e in audit] == [f"station={station}"]

    asyncio.run(main())


def test_when_the_holding_process_dies_the_call_fails_at_once_and_the_charger_moves(
    cluster: tuple[Serve, Serve, CaService],
) -> None:
    a, b, service = cluster
    station = "CS-DIE-" + secrets.token_hex(4).upper()
    token = ApiKeys.of(service).create("operator", "csms")[1]
    headers = {"Authorization": f"Bearer {token}"}
    trigger = {"requestedMessage": "SignChargingStationCertificate"}

    async def main() -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            async with charger(b.ws(station)):
                ok = await http.post(
                    f"{a.url}/v1/stations/{station}/trigger-message", json=trigger, headers=headers
                )
                assert ok.json() == {"status": "Accepted"}
                b.kill()  # no clean-up: its Redis entry stays until it expires
                started = time.monotonic()
                dead = await http.post(
                    f"{a.url}/v1/stations/{station}/trigger-message", json=trigger, headers=headers
                )
                assert dead.status_code == 409 and dead.json()["error"] == "station-not-connected"
                assert time.monotonic() - started < 2.0
            async with charger(a.ws(station)) as (cp, _ws):  # the load balancer sends it to A
                moved = await http.post(
                    f"{a.url}/v1/stations/{station}/trigger-message", json=trigger, headers=headers
                )
                assert moved.json() == {"status": "Accepted"}
                assert (
                    "TriggerMessage",
                    {"requested_message": "SignChargingStationCertificate"},
                ) in cp.received

    asyncio.run(main())
