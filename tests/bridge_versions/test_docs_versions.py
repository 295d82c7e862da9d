"""docs/operator-guide.md, section "OCPP versions": its OCPP-J frames are what the bridge sends and
accepts (checked against the 1.6 and 2.0.1 schemas, the refusal sent to a real bridge), and its
Python example, a 1.6 charger asking for Plug & Charge in DataTransfer, runs against a real bridge
and prints what the guide says."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pnc_payloads as P
from bridge_helpers import chain_pem
from harness import basic, raw_exchange, run
from versions_helpers import BridgeFactory
from websockets.asyncio.client import connect

from pki.ca import CaService
from pnc.core.stations import StationRegistry
from pnc.server.ocpp import calls16, pnc16
from pnc.server.ocpp.frames import CALL, CALL_RESULT, validate

DOC = Path(__file__).resolve().parents[2] / "docs" / "operator-guide.md"
EXAMPLE_URL = "ws://localhost:9000/ocpp"


def section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## OCPP versions\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def blocks(kind: str) -> list[str]:
    return re.findall(rf"^```{kind}\n(.*?)^```", section(), flags=re.S | re.M)


def test_the_frames_of_the_guide_are_valid_1_6_carrying_valid_2_0_1() -> None:
    frames = [json.loads(b) for b in blocks("json")]
    calls = {f[1]: f for f in frames if f[0] == CALL}
    assert len(calls) == 1 and len(frames) == 3
    for frame in frames:
        if frame[0] == CALL:
            validate("1.6", CALL, frame[2], frame[3])
            assert frame[3]["vendorId"] == pnc16.VENDOR_ID
            validate("2.0.1", CALL, frame[3]["messageId"], json.loads(frame[3]["data"]))
        else:
            validate("1.6", CALL_RESULT, "DataTransfer", frame[2])
            if frame[2]["status"] == "Accepted":
                message_id = calls[frame[1]][3]["messageId"]
                validate("2.0.1", CALL_RESULT, message_id, json.loads(frame[2]["data"]))


def test_the_refusal_of_the_guide_is_what_the_bridge_answers(
    bridge: BridgeFactory, service: CaService
) -> None:
    answers = [json.loads(b) for b in blocks("json") if json.loads(b)[0] == CALL_RESULT]
    [refusal] = [a for a in answers if a[2]["status"] == "Rejected"]
    StationRegistry.of(service).add("CS-DOC-1", 1, "charger-password-0001")

    async def scenario(url: str) -> list[Any]:
        async with connect(
            url, subprotocols=["ocpp1.6"], additional_headers=basic("CS-DOC-1", "charger-password-0001")
        ) as ws:  # type: ignore[list-item]
            request = {
                "vendorId": pnc16.VENDOR_ID,
                "messageId": "Authorize",
                "data": json.dumps({"certificate": "x"}),
            }
            return await raw_exchange(ws, [2, refusal[1], "DataTransfer", request])

    with bridge() as b:
        answer = run(scenario(b.url("CS-DOC-1")))
    assert answer == refusal


def test_the_python_example_runs_against_a_bridge(
    bridge: BridgeFactory, service: CaService, tmp_path: Path
) -> None:
    [example] = blocks("python")
    password = re.search(r'"CS-LEGACY-0001", "([^"]+)"', example)
    assert password is not None
    StationRegistry.of(service).add("CS-LEGACY-0001", 1, password.group(1))
    (tmp_path / "contract.pem").write_text(chain_pem(P.contract(service)))
    printed = re.search(r"it prints `(.*?)`:", section().replace("\n", " "), flags=re.S)
    assert printed is not None
    with bridge() as b:
        script = example.replace(EXAMPLE_URL, b.url("x").rsplit("/", 1)[0])
        done = subprocess.run(
            [sys.executable, "-c", script],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == printed.group(1)


def test_the_mapping_table_names_every_translated_call() -> None:
    text = section()
    for action in calls16.MAPPERS:
        assert f"| {action}" in text, action
    for message in pnc16.CHARGER_MESSAGES + pnc16.CSMS_MESSAGES:
        assert message in text, message
