"""Scale-out: two ``pnc serve`` processes on one PostgreSQL store and one Redis. A REST call to
process A reaches a charger whose websocket is held by process B."""

from __future__ import annotations

import json
import os
import secrets
import signal
from pathlib import Path
from typing import Any

import httpx
from harness import charger, run, wait_healthy
from ocpp.v201 import call
from ops_helpers import make_pnc, require_or_skip

PASSWORD = "charger-password-0001"


def redis_url() -> str:
    url = os.environ.get("PNC_TEST_REDIS_URL")
    if not url:
        require_or_skip("redis", "PNC_TEST_REDIS_URL is not set")
        raise AssertionError("unreachable")
    import redis

    try:
        redis.Redis.from_url(url).ping()
    except Exception as exc:
        require_or_skip("redis", f"cannot reach {url}: {exc}")
    return url


def test_a_rest_call_to_one_process_reaches_a_charger_on_the_other(
    postgres_schema_url: str, tmp_path: Path, serve_in: Any
) -> None:
    redis = redis_url()
    home = tmp_path / "home"
    pnc = make_pnc(home, postgres_schema_url)
    pnc("pki", "init", "--org", "Test CA", "--ocsp-url", "http://127.0.0.1:1/ocsp")
    station = "CS-" + secrets.token_hex(4)
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    pnc("stations", "add", station, "--security-profile", "1", "--password-file", tmp_path / "pw")
    token = json.loads(pnc("apikey", "create", "--role", "operator", "--format", "json").stdout)["token"]
    suffix = secrets.token_hex(3)
    common = ["--db", postgres_schema_url, "--redis-url", redis]
    a, port_a = serve_in(home, *common, "--process-id", f"a-{suffix}")
    b, port_b = serve_in(home, *common, "--process-id", f"b-{suffix}")
    wait_healthy(port_a, a)
    wait_healthy(port_b, b)

    async def scenario() -> tuple[httpx.Response, list[Any]]:
        async with charger(f"ws://127.0.0.1:{port_b}/ocpp/{station}", password=PASSWORD) as (cp, _ws):
            await cp.call(call.Heartbeat())
            async with httpx.AsyncClient(timeout=30) as client:
                answer = await client.post(
                    f"http://127.0.0.1:{port_a}/v1/stations/{station}/trigger-message",
                    headers={"Authorization": f"Bearer {token}"},
                    json={"requestedMessage": "SignV2GCertificate"},
                )
            return answer, list(cp.received)

    answer, received = run(scenario())
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "Accepted"
    assert received == [("TriggerMessage", {"requested_message": "SignV2GCertificate"})]
    for process in (a, b):
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) in (0, -signal.SIGTERM)
