"""Running a real bridge (uvicorn on a loopback port, in a thread with its own event loop) and real
chargers (the ``ocpp`` package's v201 ChargePoint, charging-station role, over ``websockets``)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import ipaddress
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from ocpp.routing import on
from ocpp.v201 import ChargePoint as _ChargePoint
from ocpp.v201 import call_result
from ocpp.v201.enums import Action
from websockets.asyncio.client import ClientConnection, connect

from pnc.server.context import AppContext
from pnc.server.runner import uvicorn_config
from pnc.server.settings import ServeSettings

SUBPROTOCOL = "ocpp2.0.1"


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class RunningServer:
    """An ASGI app served by uvicorn (the bridge's own configuration) until :meth:`stop`."""

    def __init__(self, app: Any, settings: ServeSettings, context: ssl.SSLContext | None = None) -> None:
        self.sock = free_socket()
        self.port = self.sock.getsockname()[1]
        self.tls = context is not None
        config = uvicorn_config(app, settings, context, port=self.port)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self.server.serve(sockets=[self.sock]))
        except BaseException as exc:  # surfaced by start()/stop()
            self.error = exc

    def start(self) -> RunningServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if self.error is not None or not self.thread.is_alive():
                raise RuntimeError(f"the server did not start: {self.error!r}")
            if time.monotonic() > deadline:
                raise TimeoutError("the server did not start in 20 s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.sock.close()
        assert not self.thread.is_alive(), "the server did not stop"

    def ws_url(self, station_id: str) -> str:
        return f"{'wss' if self.tls else 'ws'}://127.0.0.1:{self.port}/ocpp/{station_id}"

    @property
    def http_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"


@contextlib.contextmanager
def running(
    app: Any, settings: ServeSettings, context: ssl.SSLContext | None = None
) -> Iterator[RunningServer]:
    server = RunningServer(app, settings, context).start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Bridge:
    """A bridge app served on a loopback port (the ``bridge`` fixture)."""

    server: RunningServer
    app: Any
    ctx: AppContext

    def url(self, station_id: str) -> str:
        return self.server.ws_url(station_id)

    async def on_server(self, coro: Any, timeout: float = 30) -> Any:
        """Await ``coro`` on the server's event loop (where its connections live)."""
        future = asyncio.run_coroutine_threadsafe(coro, self.app.state.loop)
        return await asyncio.wait_for(asyncio.wrap_future(future), timeout)


BridgeFactory = Callable[..., contextlib.AbstractContextManager[Bridge]]


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class Charger(_ChargePoint):  # type: ignore[misc]
    """A charging station: answers the CSMS's calls and records them."""

    def __init__(self, station_id: str, connection: Any) -> None:
        super().__init__(station_id, connection)
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.installed: list[dict[str, Any]] = []

    @on(Action.install_certificate)
    def on_install_certificate(self, certificate_type: str, certificate: str, **_: Any) -> Any:
        self.received.append(("InstallCertificate", {"certificate_type": certificate_type}))
        self.installed.append({"certificate_type": certificate_type, "certificate": certificate})
        return call_result.InstallCertificate(status="Accepted")

    @on(Action.delete_certificate)
    def on_delete_certificate(self, certificate_hash_data: dict[str, Any], **_: Any) -> Any:
        self.received.append(("DeleteCertificate", certificate_hash_data))
        return call_result.DeleteCertificate(status="NotFound")

    @on(Action.get_installed_certificate_ids)
    def on_get_installed_certificate_ids(self, **kwargs: Any) -> Any:
        self.received.append(("GetInstalledCertificateIds", kwargs))
        return call_result.GetInstalledCertificateIds(
            status="Accepted",
            certificate_hash_data_chain=[
                {
                    "certificate_type": "V2GRootCertificate",
                    "certificate_hash_data": {
                        "hash_algorithm": "SHA256",
                        "issuer_name_hash": "aa" * 32,
                        "issuer_key_hash": "bb" * 32,
                        "serial_number": "1f",
                    },
                }
            ],
        )

    @on(Action.trigger_message)
    def on_trigger_message(self, requested_message: str, **_: Any) -> Any:
        self.received.append(("TriggerMessage", {"requested_message": requested_message}))
        return call_result.TriggerMessage(status="Accepted")

    @on(Action.certificate_signed)
    def on_certificate_signed(self, certificate_chain: str, **kwargs: Any) -> Any:
        self.received.append(("CertificateSigned", {"certificate_chain": certificate_chain, **kwargs}))
        return call_result.CertificateSigned(status="Accepted")

    @on(Action.get_variables)
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        self.received.append(("GetVariables", {"get_variable_data": get_variable_data}))
        return call_result.GetVariables(
            get_variable_result=[
                {
                    "attribute_status": "Accepted",
                    "attribute_value": "42",
                    "component": {"name": "SecurityCtrlr"},
                    "variable": {"name": "SecurityProfile"},
                }
            ]
        )


@contextlib.asynccontextmanager
async def charger(
    url: str,
    station_id: str | None = None,
    *,
    password: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
    subprotocols: tuple[str, ...] = (SUBPROTOCOL,),
) -> AsyncIterator[tuple[Charger, ClientConnection]]:
    """A connected charger serving the CSMS's calls in the background."""
    station = station_id or url.rsplit("/", 1)[-1]
    headers = basic(station, password) if password is not None else {}
    options: dict[str, Any] = {"ssl": ssl_context} if ssl_context is not None else {}
    async with connect(
        url,
        subprotocols=list(subprotocols),
        additional_headers=headers,
        open_timeout=10,
        **options,  # type: ignore[arg-type]
    ) as ws:
        cp = Charger(station, ws)
        task = asyncio.create_task(cp.start())
        try:
            yield cp, ws
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def raw_exchange(ws: ClientConnection, frame: str | list[Any], timeout: float = 10) -> list[Any]:
    """Send one frame and return the next frame the server sends (parsed)."""
    await ws.send(frame if isinstance(frame, str) else json.dumps(frame))
    answer = await asyncio.wait_for(ws.recv(), timeout)
    return list(json.loads(answer))


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# -- TLS material for tests


def server_certificate(directory: Path) -> tuple[Path, Path, ssl.SSLContext]:
    """A self-signed server certificate for 127.0.0.1 (cert file, key file, a client context trusting it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bridge.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "server.pem", directory / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    client = ssl.create_default_context(cafile=str(cert_file))
    return cert_file, key_file, client


def with_client_certificate(
    base: ssl.SSLContext,
    directory: Path,
    certificate_der: bytes,
    chain: tuple[bytes, ...],
    key: Any,
    name: str,
) -> ssl.SSLContext:
    """A copy of a client context that presents ``certificate_der`` (+ chain) with ``key``."""
    cert_file, key_file = directory / f"{name}.pem", directory / f"{name}.key"
    pems = [
        x509.load_der_x509_certificate(d).public_bytes(serialization.Encoding.PEM)
        for d in (certificate_der, *chain)
    ]
    cert_file.write_bytes(b"".join(pems))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    ctx = ssl.create_default_context()
    ctx.load_verify_locations(cadata=_trusted_pems(base))
    ctx.load_cert_chain(str(cert_file), str(key_file))
    return ctx


def _trusted_pems(ctx: ssl.SSLContext) -> str:
    return "".join(ssl.DER_cert_to_PEM_cert(der) for der in ctx.get_ca_certs(binary_form=True))


# -- pnc serve as a subprocess


def serve_env(home: Path, passphrase: str) -> dict[str, str]:
    return {
        **os.environ,
        "PNC_HOME": str(home),
        "PNC_CA_PASSPHRASE": passphrase,
        "PNC_ACTOR": "test-operator",
    }


def start_serve(home: Path, args: tuple[str, ...], passphrase: str) -> tuple[subprocess.Popen[str], int]:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    process = subprocess.Popen(
        [sys.executable, "-m", "pnc", "serve", "--port", str(port), *args],
        env=serve_env(home, passphrase),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process, port


def wait_healthy(port: int, process: subprocess.Popen[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read() if process.stderr else ""
            raise AssertionError(f"pnc serve exited {process.returncode}: {stderr}")
        try:
            answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            if answer.status_code == 200:
                return dict(answer.json())
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("pnc serve did not become healthy in 60 s")
