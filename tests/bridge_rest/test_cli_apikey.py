"""``pnc apikey create|list|revoke`` end to end: the key printed once, JSON for scripts, one-line
errors with exit codes, refusals that change nothing."""

from __future__ import annotations

import datetime as dt
import json

from ops_helpers import Pnc
from sqlalchemy import text

from pnc.core.apikeys import ApiKeys, ApiRole


def _state(pnc: Pnc) -> tuple[list[tuple[object, ...]], int]:
    with pnc.store() as store, store.engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text("SELECT * FROM api_keys ORDER BY id"))]
        return rows, len(store.audit_entries())


def test_create_prints_a_working_key_once_and_list_never_shows_it(pnc_db: Pnc) -> None:
    created = json.loads(
        pnc_db("apikey", "create", "--role", "security", "--label", "ops team", "--format", "json").stdout
    )
    assert set(created) == {"key_id", "role", "label", "token"} and created["label"] == "ops team"
    table = pnc_db("apikey", "create", "--role", "readonly", "--name", "grafana")
    assert "cannot be shown again" in table.stderr
    token2 = next(line.split()[1] for line in table.stdout.splitlines() if line.startswith("token"))
    with pnc_db.store() as store:
        keys = ApiKeys(store, actor="t", clock=lambda: dt.datetime.now(dt.UTC))
        assert keys.verify(created["token"]).role is ApiRole.SECURITY
        assert keys.verify(token2).role is ApiRole.READONLY
    listed = pnc_db("apikey", "list")
    assert listed.stdout.splitlines()[0].split() == ["KEY_ID", "ROLE", "LABEL", "CREATED_AT", "REVOKED_AT"]
    assert created["token"] not in listed.stdout and token2 not in listed.stdout
    rows = json.loads(pnc_db("apikey", "list", "--format", "json").stdout)
    assert [(r["role"], r["label"]) for r in rows] == [("security", "ops team"), ("readonly", "grafana")]


def test_revoke_ends_a_key_and_is_audited_with_the_actor(pnc_db: Pnc) -> None:
    created = json.loads(pnc_db("apikey", "create", "--role", "operator", "--format", "json").stdout)
    revoked = json.loads(pnc_db("apikey", "revoke", created["key_id"], "--format", "json").stdout)
    assert revoked["revoked_at"] is not None
    assert json.loads(pnc_db("apikey", "list", "--active", "--format", "json").stdout) == []
    with pnc_db.store() as store:
        entries = [(e.action, e.actor) for e in store.audit_entries() if e.action.startswith("apikey-")]
    assert entries == [("apikey-create", "test-operator"), ("apikey-revoke", "test-operator")]


def test_refusals_are_one_line_with_exit_codes_and_change_nothing(pnc: Pnc) -> None:
    created = json.loads(pnc("apikey", "create", "--role", "operator", "--format", "json").stdout)
    pnc("apikey", "revoke", created["key_id"])
    before = _state(pnc)
    for args, code, match in [
        (("apikey", "revoke", created["key_id"]), 1, "already revoked"),
        (("apikey", "revoke", "feedfacefeedface"), 1, "no API key with id feedfacefeedface"),
        (("apikey", "revoke", "zz"), 1, "not 16 hexadecimal digits"),
        (("apikey", "create", "--role", "operator", "--label", "x" * 200), 1, "at most 128 characters"),
        (("apikey", "create", "--role", "root"), 2, "Invalid value for '--role'"),
    ]:
        result = pnc(*args, ok=False)
        assert result.exit_code == code, (args, result.stdout, result.stderr)
        assert match in result.stderr, result.stderr
        if code == 1:
            assert result.stderr.strip().count("\n") == 0 and result.stderr.startswith("error: ")
    assert _state(pnc) == before
