"""The bridge (``pnc serve``'s application and uvicorn configuration) in a thread of this process:
what ``pnc demo`` talks OCPP to.

The server gets a socket bound before the ceremony (its address goes into the certificates' OCSP
URL) and runs on its own event loop, so the simulators' loop and the bridge's never wait for each
other. It shares the caller's :class:`~pki.ca.CaService`: a revocation through it reaches the
bridge's caches at once, as one by the operator of a ``pnc serve`` process does.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import uvicorn

from pki.ca import CaService
from pnc.server.settings import ServeSettings
from pnc.sim.errors import SimError

START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


def bound_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket (port 0: a free one) for :class:`BridgeHost`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SimError(f"cannot bind {host}:{port} for the bridge: {exc}") from None
    return sock


class BridgeHost:
    """``create_app`` under uvicorn in a daemon thread, on ``sock``, until :meth:`stop`."""

    def __init__(self, service: CaService, settings: ServeSettings, sock: socket.socket) -> None:
        from pnc.server.app import create_app
        from pnc.server.runner import uvicorn_config

        self.service = service
        self.settings = settings
        self.sock = sock
        self.host, self.port = sock.getsockname()[:2]
        self.app: Any = create_app(service, settings)
        config = uvicorn_config(self.app, settings, None, port=self.port, ws_ping_interval=None)
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="pnc-demo-bridge", daemon=True)
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self.server.serve(sockets=[self.sock]))
        except BaseException as exc:  # reported by start() / stop()
            self._error = exc

    def start(self) -> BridgeHost:
        self.app.state.ocsp.load()  # the responder keys, as `pnc serve` loads them before listening
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self.server.started:
            if self._error is not None or not self._thread.is_alive():
                raise SimError(f"the bridge did not start: {self._error!r}")
            if time.monotonic() > deadline:
                raise SimError(f"the bridge did not start within {START_TIMEOUT:.0f} s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(STOP_TIMEOUT)
        self.sock.close()
        if self._thread.is_alive():
            raise SimError("the bridge did not stop")

    @property
    def core(self) -> Any:
        """The bridge's :class:`pnc.core.bridge.BridgeCore`."""
        return self.app.state.ctx.core

    def ocpp_url(self, station_id: str) -> str:
        return f"ws://{self.host}:{self.port}/ocpp/{station_id}"

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.port}"


__all__ = ["BridgeHost", "bound_socket"]
