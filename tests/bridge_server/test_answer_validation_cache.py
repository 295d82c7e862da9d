"""Answers that passed their schema once are not walked again; the memo never admits an invalid one."""

from __future__ import annotations

import pytest

from pnc.server.ocpp import frames
from pnc.server.ocpp.frames import CALL, CALL_RESULT, CallErrorReply, validate

ACCEPTED = {"idTokenInfo": {"status": "Accepted"}, "certificateStatus": "Accepted"}


def test_a_valid_answer_is_remembered_in_canonical_form() -> None:
    validate("2.0.1", CALL_RESULT, "Authorize", ACCEPTED)
    reordered = {"certificateStatus": "Accepted", "idTokenInfo": {"status": "Accepted"}}
    assert ("2.0.1", "Authorize", '{"certificateStatus":"Accepted","idTokenInfo":{"status":"Accepted"}}') in (
        frames._KNOWN_VALID
    )
    validate("2.0.1", CALL_RESULT, "Authorize", reordered)


def test_an_invalid_answer_is_refused_every_time_and_never_remembered() -> None:
    bad = {"idTokenInfo": {"status": "Fine"}}
    for _ in range(2):
        with pytest.raises(CallErrorReply, match="idTokenInfo/status"):
            validate("2.0.1", CALL_RESULT, "Authorize", bad)
    assert not any('"Fine"' in known for _, _, known in frames._KNOWN_VALID)


def test_the_memo_is_per_action_and_leaves_requests_alone() -> None:
    validate("2.0.1", CALL_RESULT, "Heartbeat", {"currentTime": "2026-11-25T17:00:00Z"})
    with pytest.raises(CallErrorReply):  # the same payload is no valid answer of another action
        validate("2.0.1", CALL_RESULT, "Authorize", {"currentTime": "2026-11-25T17:00:00Z"})
    with pytest.raises(CallErrorReply):  # requests are always checked against their schema
        validate("2.0.1", CALL, "Authorize", {})
    assert not any(action == "Authorize" and known == "{}" for _, action, known in frames._KNOWN_VALID)
