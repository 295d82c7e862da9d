"""Bad input on the wire: each frame gets the CallError OCPP-J 2.0.1 prescribes, the connection
stays up, nothing is written and the process stays healthy."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import httpx
import pytest
from harness import BridgeFactory, basic, raw_exchange, run
from sqlalchemy import text
from websockets.asyncio.client import connect

from pki.ca import CaService
from pki.store.models import Base
from pnc.core.stations import StationRegistry

PASSWORD = "charger-password-0001"
HEARTBEAT = [2, "alive", "Heartbeat", {}]


def snapshot(service: CaService) -> dict[str, list[tuple[Any, ...]]]:
    with service.store.engine.connect() as conn:
        return {
            name: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {name} ORDER BY 1"))]
            for name in sorted(Base.metadata.tables)
        }


CASES: list[tuple[str, str | list[Any], list[Any]]] = [
    ("malformed JSON", '[2, "m1", "Heartbeat", {', ["-1", "RpcFrameworkError"]),
    ("not an array", '{"hello": 1}', ["-1", "RpcFrameworkError"]),
    ("no message id", "[2]", ["-1", "RpcFrameworkError"]),
    ("id not a string", [2, 17, "Heartbeat", {}], ["-1", "RpcFrameworkError"]),
    ("id of 37 characters", [2, "x" * 37, "Heartbeat", {}], ["-1", "RpcFrameworkError"]),
    ("CALL without payload", [2, "m2", "Heartbeat"], ["m2", "RpcFrameworkError"]),
    ("payload not an object", [2, "m3", "Heartbeat", []], ["m3", "FormatViolation"]),
    ("unknown message type", [7, "m4", "Heartbeat", {}], ["m4", "MessageTypeNotSupported"]),
    ("unknown action", [2, "m5", "MakeCoffee", {}], ["m5", "NotImplemented"]),
    ("a CSMS-only action", [2, "m6", "Reset", {"type": "Immediate"}], ["m6", "NotSupported"]),
    ("path in the action", [2, "m7", "../../Authorize", {}], ["m7", "NotImplemented"]),
    ("required field missing", [2, "m8", "Authorize", {}], ["m8", "OccurrenceConstraintViolation"]),
    (
        "unknown field",
        [2, "m9", "Authorize", {"idToken": {"idToken": "x", "type": "eMAID"}, "colour": "red"}],
        ["m9", "FormatViolation"],
    ),
    (
        "wrong type",
        [2, "m10", "Authorize", {"idToken": {"idToken": 5, "type": "eMAID"}}],
        ["m10", "TypeConstraintViolation"],
    ),
    (
        "too long",
        [2, "m11", "Authorize", {"idToken": {"idToken": "x" * 37, "type": "eMAID"}}],
        ["m11", "TypeConstraintViolation"],
    ),
    (
        "not in the enum",
        [2, "m12", "Authorize", {"idToken": {"idToken": "x", "type": "Bitcoin"}}],
        ["m12", "PropertyConstraintViolation"],
    ),
    (
        "certificate over 5500 characters",
        [2, "m13", "Authorize", {"idToken": {"idToken": "x", "type": "eMAID"}, "certificate": "A" * 5501}],
        ["m13", "TypeConstraintViolation"],
    ),
    (
        "five hash data entries",
        [
            2,
            "m14",
            "Authorize",
            {
                "idToken": {"idToken": "x", "type": "eMAID"},
                "iso15118CertificateHashData": [
                    {
                        "hashAlgorithm": "SHA256",
                        "issuerNameHash": "aa",
                        "issuerKeyHash": "bb",
                        "serialNumber": "1",
                        "responderURL": "http://x",
                    }
                ]
                * 5,
            },
        ],
        ["m14", "TypeConstraintViolation"],
    ),
    ("oversized frame", '[2,"m15","Heartbeat",{"x":"' + "A" * 70_000 + '"}]', ["m15", "FormatViolation"]),
    ("oversized garbage", "A" * 70_000, ["-1", "FormatViolation"]),
]


@pytest.fixture
def station(service: CaService) -> str:
    StationRegistry.of(service).add("CS-1", 1, PASSWORD)
    return "CS-1"


def test_every_bad_frame_gets_its_call_error_and_the_connection_stays_up(
    bridge: BridgeFactory, service: CaService, station: str
) -> None:
    before = snapshot(service)

    async def scenario(url: str) -> list[tuple[str, list[Any]]]:
        answers = []
        async with connect(
            url, subprotocols=["ocpp2.0.1"], additional_headers=basic(station, PASSWORD)
        ) as ws:
            for name, frame, _expected in CASES:
                answers.append((name, await raw_exchange(ws, frame)))
                alive = await raw_exchange(ws, HEARTBEAT)
                assert alive[:2] == [3, "alive"], f"not alive after {name}: {alive}"
        return answers

    with bridge() as b:
        answers = run(scenario(b.url(station)))
        health = httpx.get(f"{b.server.http_url}/healthz", timeout=10)
        metrics = httpx.get(f"{b.server.http_url}/metrics", timeout=10).text
    for (name, _frame, expected), (_, answer) in zip(CASES, answers, strict=True):
        assert answer[0] == 4, f"{name}: {answer}"
        assert answer[1:3] == expected, f"{name}: {answer}"
        assert isinstance(answer[3], str) and len(answer[3]) <= 255 and isinstance(answer[4], dict)
        assert "A" * 100 not in json.dumps(answer), f"{name}: the error echoes the payload"
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert 'pnc_ocpp_frames_rejected_total{reason="oversized"} 2' in metrics
    assert 'outcome="NotImplemented"' in metrics
    # nothing but nothing was written (the connection's own audit-free life)
    assert snapshot(service) == before


def test_descriptions_name_the_field(bridge: BridgeFactory, station: str) -> None:
    async def scenario(url: str) -> list[list[Any]]:
        async with connect(
            url, subprotocols=["ocpp2.0.1"], additional_headers=basic(station, PASSWORD)
        ) as ws:
            return [
                await raw_exchange(ws, [2, "a", "Authorize", {}]),
                await raw_exchange(
                    ws, [2, "b", "Authorize", {"idToken": {"idToken": "x" * 37, "type": "eMAID"}}]
                ),
            ]

    with bridge() as b:
        missing, too_long = run(scenario(b.url(station)))
    assert missing[3] == "Authorize: required field 'idToken' missing"
    assert too_long[3] == "Authorize: idToken/idToken violates maxLength 36"
    assert too_long[4] == {"field": "idToken/idToken"}


def test_frames_beyond_the_transport_limit_close_the_connection(bridge: BridgeFactory, station: str) -> None:
    async def scenario(url: str) -> int | None:
        async with connect(
            url, subprotocols=["ocpp2.0.1"], additional_headers=basic(station, PASSWORD), max_size=None
        ) as ws:
            await ws.send("A" * (2 * 1024 * 1024))
            with contextlib.suppress(Exception):
                await ws.recv()
            return ws.close_code

    with bridge() as b:
        assert run(scenario(b.url(station))) == 1009


def test_a_client_without_an_ocpp_subprotocol_is_closed_at_once(bridge: BridgeFactory, station: str) -> None:
    async def scenario(url: str) -> tuple[str | None, int | None]:
        async with connect(url, subprotocols=["ocpp1.5"], additional_headers=basic(station, PASSWORD)) as ws:
            with contextlib.suppress(Exception):
                await ws.recv()
            return ws.subprotocol, ws.close_code

    with bridge() as b:
        assert run(scenario(b.url(station))) == (None, 1002)


def test_inlined_schemas_judge_every_ocpp_message_like_the_originals() -> None:
    """The validators with inlined definitions accept and refuse exactly what the ocpp package's do
    (every 2.0.1 request and response schema, on a valid-looking and a broken payload)."""
    from ocpp.messages import get_validator
    from ocpp.v201.enums import Action

    from pnc.server.ocpp import frames

    samples: list[dict[str, Any]] = [
        {},
        {"idToken": {"idToken": "x", "type": "eMAID"}},
        {"idToken": {"idToken": 5, "type": "eMAID"}},
        {"status": "Accepted"},
        {"status": "Bogus", "statusInfo": {"reasonCode": "x" * 30}},
        {"customData": {"vendorId": "v"}, "evseId": "1"},
    ]
    for action in Action:
        for message_type in (frames.CALL, frames.CALL_RESULT):
            original = get_validator(message_type, action.value, "2.0.1")
            inlined = frames._validator("2.0.1", message_type, action.value)
            for sample in samples:
                assert original.is_valid(sample) == inlined.is_valid(sample), (action, message_type, sample)
