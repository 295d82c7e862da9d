"""Every answer the bridge gives without looking at the call is a valid CallResult of its action,
for OCPP 2.0.1 and 2.1, and no caller can change the table through an answer it got."""

from __future__ import annotations

import asyncio

import pytest

from pnc.server.ocpp import v21, v201
from pnc.server.ocpp.frames import CALL_RESULT, validate

CASES = [("2.0.1", v201.StandaloneCsms, a) for a in v201.StandaloneCsms.fixed_answers] + [
    ("2.1", v21.StandaloneCsms21, a) for a in v21.StandaloneCsms21.fixed_answers
]


@pytest.mark.parametrize(("version", "csms", "action"), CASES)
def test_a_fixed_answer_is_a_valid_call_result(version: str, csms: type, action: str) -> None:
    answer = asyncio.run(csms("CS-1", 60).answer(action, {}))
    validate(version, CALL_RESULT, action, answer)


def test_an_answer_is_a_copy_of_the_table() -> None:
    csms = v201.StandaloneCsms("CS-1", 60)
    first = asyncio.run(csms.answer("DataTransfer", {}))
    first["status"] = "Accepted"
    assert asyncio.run(csms.answer("DataTransfer", {})) == {"status": "UnknownVendorId"}


def test_2_1_answers_every_2_0_1_call_the_same_way_and_its_own_new_ones() -> None:
    assert set(v201.FIXED_ANSWERS) < set(v21.StandaloneCsms21.fixed_answers)
    assert {"BatterySwap", "NotifySettlement", "PullDynamicScheduleUpdate"} <= set(
        v21.StandaloneCsms21.fixed_answers
    )
