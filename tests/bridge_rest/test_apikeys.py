"""API keys on SQLite and PostgreSQL: shown once, stored as a hash, verified in constant time,
revoked for good, audited without the secret; bad input is refused and changes nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from pki.errors import NotFoundError
from pki.store import Store
from pnc.core.apikeys import ApiKeyError, ApiKeys, ApiRole, InvalidApiKey, split_token

NOW = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store(db_url) as s:
        yield s


def _keys(store: Store, monotonic: Clock | None = None) -> ApiKeys:
    return ApiKeys(store, actor="test-admin", clock=lambda: NOW, monotonic=monotonic or Clock())


def _state(store: Store) -> tuple[list[tuple[object, ...]], int]:
    with store.engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text("SELECT * FROM api_keys ORDER BY id"))]
    return rows, len(store.audit_entries())


def test_created_key_verifies_with_its_role_and_only_its_hash_is_stored(store: Store) -> None:
    keys = _keys(store)
    key_id, token = keys.create("operator", "csms-1")
    assert token.startswith(f"pnc_{key_id}_") and len(token) == 4 + 16 + 1 + 43
    principal = keys.verify(token)
    assert (principal.key_id, principal.role, principal.actor) == (
        key_id,
        ApiRole.OPERATOR,
        f"apikey:{key_id}",
    )
    secret = split_token(token)[1]
    with store.engine.connect() as conn:
        row = conn.execute(text("SELECT secret_hash, role, label FROM api_keys")).one()
    assert row.secret_hash == "sha256:" + hashlib.sha256(secret.encode()).hexdigest()
    assert (row.role, row.label) == ("operator", "csms-1")
    dumped = json.dumps([e.details for e in store.audit_entries()]) + repr(keys.list())
    assert secret not in dumped and row.secret_hash not in dumped


def test_every_role_verifies_and_ranks_security_over_operator_over_readonly(store: Store) -> None:
    keys = _keys(store)
    for role in ApiRole:
        assert keys.verify(keys.create(role)[1]).role is role
    assert ApiRole.SECURITY.allows(ApiRole.OPERATOR) and ApiRole.SECURITY.allows(ApiRole.READONLY)
    assert ApiRole.OPERATOR.allows(ApiRole.READONLY) and not ApiRole.OPERATOR.allows(ApiRole.SECURITY)
    assert not ApiRole.READONLY.allows(ApiRole.OPERATOR)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # wrong secret
        lambda t: "pnc_" + "0" * 16 + t[20:],  # unknown key id
        lambda t: t[:-2],  # too short
        lambda t: "Bearer " + t,  # not a key
        lambda t: t.replace("pnc_", "pnx_"),
        lambda t: t[:21] + "!" + t[22:],  # not base64url
        lambda t: "",
    ],
)
def test_wrong_unknown_or_malformed_tokens_are_refused(store: Store, mangle: object) -> None:
    keys = _keys(store)
    _key_id, token = keys.create("security")
    keys.verify(token)  # cached now: the cache must not make a wrong secret pass
    assert callable(mangle)
    bad = mangle(token)
    with pytest.raises(InvalidApiKey) as err:
        keys.verify(bad)
    secret = split_token(token)[1]
    assert secret not in str(err.value)


def test_revoked_key_is_refused_at_once_here_and_after_the_cache_time_elsewhere(store: Store) -> None:
    here, clock = _keys(store), Clock()
    elsewhere = _keys(store, clock)
    key_id, token = here.create("readonly", "dashboard")
    assert elsewhere.verify(token).key_id == key_id  # cached in the other process
    revoked = here.revoke(key_id)
    assert revoked.revoked_at == NOW.replace(microsecond=0)
    with pytest.raises(InvalidApiKey, match="unknown or revoked"):
        here.verify(token)
    assert elsewhere.verify(token).key_id == key_id  # within the cache time
    clock.t += elsewhere.cache_seconds + 0.1
    with pytest.raises(InvalidApiKey, match="unknown or revoked"):
        elsewhere.verify(token)
    [listed] = here.list()
    assert listed.revoked_at is not None and here.list(include_revoked=False) == []


def test_create_and_revoke_are_audited_with_key_id_and_role_never_the_secret(store: Store) -> None:
    keys = _keys(store)
    key_id, token = keys.create("operator", "csms")
    keys.revoke(key_id.upper(), actor="apikey:0123456789abcdef")
    entries = [e for e in store.audit_entries() if e.action.startswith("apikey-")]
    assert [(e.action, e.actor, e.subject, e.details) for e in entries] == [
        ("apikey-create", "test-admin", f"apikey={key_id}", {"role": "operator", "label": "csms"}),
        (
            "apikey-revoke",
            "apikey:0123456789abcdef",
            f"apikey={key_id}",
            {"role": "operator", "label": "csms"},
        ),
    ]
    assert split_token(token)[1] not in repr(entries)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda k: k.create("admin"), ApiKeyError, "unknown API key role 'admin'"),
        (lambda k: k.create("operator", "x" * 129), ApiKeyError, "at most 128 characters"),
        (lambda k: k.create("operator", "a\nb"), ApiKeyError, "control characters"),
        (lambda k: k.revoke("nothex"), ApiKeyError, "not 16 hexadecimal digits"),
        (lambda k: k.revoke("0123456789abcdef"), NotFoundError, "no API key with id 0123456789abcdef"),
    ],
)
def test_bad_requests_are_refused_and_change_nothing(
    store: Store, call: object, error: type[Exception], match: str
) -> None:
    keys = _keys(store)
    keys.create("readonly")
    before = _state(store)
    assert callable(call)
    with pytest.raises(error, match=match):
        call(keys)
    assert _state(store) == before


def test_revoking_a_revoked_key_is_refused_and_changes_nothing(store: Store) -> None:
    keys = _keys(store)
    key_id, _ = keys.create("readonly")
    keys.revoke(key_id)
    before = _state(store)
    with pytest.raises(ApiKeyError, match="already revoked"):
        keys.revoke(key_id)
    assert _state(store) == before
