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


@pytest.fixture
def redis_url() -> str:
    """The Redis of PNC_TEST_REDIS_URL, checked reachable (tests use their own keys, station ids
    and process ids; nobody flushes it)."""
    url = os.environ.get("PNC_TEST_REDIS_URL") or None
    if url is None:
        require_or_skip("redis", "PNC_TEST_REDIS_URL is not set")
        raise AssertionError("unreachable")
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except Exception as exc:
        require_or_skip("redis", f"cannot reach {url}: {exc}")
    finally:
        client.close()
    return url
