"""Shared test set-up.

External parts that may be missing on a developer's machine (PostgreSQL, SoftHSM 2) skip with a
reason there; CI sets PNC_TEST_REQUIRE=postgres,hsm so that a missing part fails instead of skipping.
"""

from __future__ import annotations

import os

import pytest


def require_or_skip(part: str, reason: str) -> None:
    """Skip the current test because ``part`` is unavailable, unless CI requires it."""
    required = {p.strip() for p in os.environ.get("PNC_TEST_REQUIRE", "").split(",") if p.strip()}
    if part in required:
        pytest.fail(f"{part} is required here (PNC_TEST_REQUIRE) but unavailable: {reason}")
    pytest.skip(f"{part} unavailable: {reason}")
