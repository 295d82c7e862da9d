"""``pnc serve`` as operators run it: a subprocess on a loopback port, stopped with SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness import charger, run, wait_healthy
from ocpp.v201 import call
from ops_helpers import Pnc

PASSWORD = "charger-password-0001"


@pytest.fixture
def serve(home: Path, serve_in: Any) -> Any:
    """``serve(*args)``: ``pnc serve`` on the test's home."""
    return lambda *args, **kwargs: serve_in(home, *args, **kwargs)


def test_pnc_serve_answers_chargers_and_stops_on_sigterm(pnc: Pnc, serve: Any, tmp_path: Path) -> None:
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    pnc("stations", "add", "CS-1", "--security-profile", "1", "--password-file", tmp_path / "pw")
    process, port = serve("--heartbeat-interval", "77", "--process-id", "bridge-a")
    health = wait_healthy(port, process)
    assert health == {"status": "ok", "connections": 0, "process_id": "bridge-a"}

    async def scenario() -> int:
        async with charger(f"ws://127.0.0.1:{port}/ocpp/CS-1", password=PASSWORD) as (cp, _ws):
            boot = await cp.call(
                call.BootNotification(charging_station={"model": "M", "vendor_name": "V"}, reason="PowerUp")
            )
            return int(boot.interval)

    assert run(scenario()) == 77
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    booted = 'pnc_ocpp_messages_total{direction="received",action="BootNotification",ocpp_version="2.0.1",outcome="CallResult"} 1'
    assert booted in metrics
    assert httpx.get(f"http://127.0.0.1:{port}/docs", timeout=5).status_code == 200
    assert (
        httpx.get(f"http://127.0.0.1:{port}/v1/stations", timeout=5).status_code == 401
    )  # an API key is needed

    async def stopped_while_connected() -> int | None:
        async with charger(f"ws://127.0.0.1:{port}/ocpp/CS-1", password=PASSWORD) as (cp, ws):
            await cp.call(call.Heartbeat())
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(ws.wait_closed(), 30)
            return ws.close_code

    # 1012 service restart: the charger reconnects (to another process behind the load balancer)
    assert run(stopped_while_connected()) == 1012
    # after its graceful shutdown uvicorn ends by the signal itself, as services are expected to
    assert process.wait(30) in (0, -signal.SIGTERM)
    assert process.stderr is not None
    stderr = process.stderr.read()
    assert "ws://127.0.0.1:" in stderr and "/ocpp/{stationId}" in stderr


def test_a_wrong_passphrase_stops_pnc_serve_at_once(serve: Any) -> None:
    process, _port = serve(passphrase="not the passphrase")
    assert process.wait(60) == 1
    assert process.stderr is not None
    lines = process.stderr.read().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tls-cert", "__file__"], "--tls-cert and --tls-key go together"),
        (["--upstream", "http://csms"], "ws:// or wss://"),
        (["--answer", "Authorize"], "proxy mode"),
        (["--upstream", "ws://csms", "--answer", "Reset"], "not a call a charging station sends"),
    ],
)
def test_usage_errors(pnc: Pnc, args: list[str], message: str) -> None:
    args = [__file__ if a == "__file__" else a for a in args]
    result = pnc("serve", *args, ok=False)
    assert result.exit_code == 2 and message in result.stderr
