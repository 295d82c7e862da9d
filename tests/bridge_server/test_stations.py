"""The station registry: identities, profiles, hashed passwords, the verification cache, audit."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from ops_helpers import Pnc

from pki.ca import CaService, utcnow
from pki.errors import AlreadyExistsError, NotFoundError
from pki.store import Store
from pnc.core import stations as stations_module
from pnc.core.stations import StationError, StationRegistry, validate_station_id

PASSWORD = "correct-horse-battery"  # 21 characters


def _rows(store: Store) -> list[tuple[Any, ...]]:
    with store.engine.connect() as conn:
        from sqlalchemy import text

        return [tuple(r) for r in conn.execute(text("SELECT * FROM stations ORDER BY id"))]


@pytest.fixture
def registry(service: CaService) -> StationRegistry:
    return StationRegistry.of(service)


def test_a_profile_1_station_verifies_its_password_and_stores_only_a_hash(
    registry: StationRegistry, service: CaService
) -> None:
    record = registry.add("CS-0001", 1, PASSWORD)
    assert record.security_profile == 1 and record.has_password
    assert registry.verify_password("CS-0001", PASSWORD)
    assert not registry.verify_password("CS-0001", PASSWORD + "x")
    assert not registry.verify_password("CS-0002", PASSWORD)
    stored = registry.get("CS-0001").password_hash
    assert stored is not None and stored.startswith("scrypt$") and PASSWORD not in stored
    assert PASSWORD not in json.dumps([str(r) for r in _rows(service.store)])
    entry = service.store.audit_entries()[-1]
    assert (entry.action, entry.subject, entry.actor) == ("station-add", "station=CS-0001", "test-bridge")
    assert PASSWORD not in json.dumps(entry.details) and stored not in json.dumps(entry.details)


def test_two_stations_with_one_password_get_different_salts(registry: StationRegistry) -> None:
    a = registry.add("A", 2, PASSWORD)
    b = registry.add("B", 2, PASSWORD)
    assert a.password_hash != b.password_hash


def test_profile_3_has_no_password_and_refuses_one(registry: StationRegistry) -> None:
    record = registry.add("CS-MTLS", 3)
    assert not record.has_password
    assert not registry.verify_password("CS-MTLS", "")
    with pytest.raises(StationError, match="no password"):
        registry.add("CS-OTHER", 3, PASSWORD)


@pytest.mark.parametrize(
    ("station_id", "profile", "password", "error"),
    [
        ("CS:1", 1, PASSWORD, "invalid"),
        ("a/b", 1, PASSWORD, "invalid"),
        ("", 1, PASSWORD, "invalid"),
        ("x" * 49, 1, PASSWORD, "invalid"),
        ("CS 1", 1, PASSWORD, "invalid"),
        ("CS-1", 4, PASSWORD, "not one of 1, 2, 3"),
        ("CS-1", 1, None, "needs a Basic Auth password"),
        ("CS-1", 2, "short", "16-40 printable"),
        ("CS-1", 2, "x" * 41, "16-40 printable"),
        ("CS-1", 2, "with a space in it!!", "16-40 printable"),
    ],
)
def test_bad_additions_are_refused_and_write_nothing(
    registry: StationRegistry,
    service: CaService,
    station_id: str,
    profile: int,
    password: str | None,
    error: str,
) -> None:
    audit_before = len(service.store.audit_entries())
    with pytest.raises(StationError, match=error):
        registry.add(station_id, profile, password)
    assert _rows(service.store) == []
    assert len(service.store.audit_entries()) == audit_before


def test_the_longest_identity_and_every_allowed_character_are_accepted() -> None:
    assert validate_station_id("x" * 48)
    assert validate_station_id("aZ09*-_=+|@.")


def test_a_station_is_registered_once(registry: StationRegistry) -> None:
    registry.add("CS-1", 1, PASSWORD)
    with pytest.raises(AlreadyExistsError):
        registry.add("CS-1", 2, PASSWORD)


def test_removed_stations_no_longer_verify(registry: StationRegistry, service: CaService) -> None:
    registry.add("CS-1", 1, PASSWORD)
    assert registry.verify_password("CS-1", PASSWORD)
    registry.remove("CS-1")
    assert not registry.verify_password("CS-1", PASSWORD)
    assert registry.find("CS-1") is None
    with pytest.raises(NotFoundError):
        registry.remove("CS-1")
    assert service.store.audit_entries()[-1].action == "station-remove"


def test_reconnects_cost_no_key_derivation(
    registry: StationRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.add("CS-1", 1, PASSWORD)
    calls: list[int] = []
    real = hashlib.scrypt

    def counting(*args: Any, **kwargs: Any) -> bytes:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(stations_module.hashlib, "scrypt", counting)
    for _ in range(20):
        assert registry.verify_password("CS-1", PASSWORD)
    assert len(calls) == 1
    assert not registry.verify_password("CS-1", "another-password-123")
    assert len(calls) == 2  # a wrong password is always derived, never cached as good


def test_a_password_changed_elsewhere_invalidates_what_this_process_verified(
    service: CaService, home: Path
) -> None:
    here = StationRegistry.of(service)
    here.add("CS-1", 2, PASSWORD)
    assert here.verify_password("CS-1", PASSWORD)
    from ops_helpers import PASSPHRASE

    from pki.home import Home

    with CaService(Home(home), passphrase=PASSPHRASE.encode, actor="elsewhere") as other_service:
        StationRegistry.of(other_service).update("CS-1", password="a-brand-new-password")
    assert not here.verify_password("CS-1", PASSWORD)
    assert here.verify_password("CS-1", "a-brand-new-password")


def test_update_moves_between_profiles(registry: StationRegistry, service: CaService) -> None:
    registry.add("CS-1", 1, PASSWORD)
    to_three = registry.update("CS-1", security_profile=3)
    assert to_three.security_profile == 3 and not to_three.has_password
    with pytest.raises(StationError, match="needs a Basic Auth password"):
        registry.update("CS-1", security_profile=2)
    back = registry.update("CS-1", security_profile=2, password=PASSWORD)
    assert back.security_profile == 2 and registry.verify_password("CS-1", PASSWORD)
    entry = service.store.audit_entries()[-1]
    assert entry.action == "station-update" and entry.details["previous_security_profile"] == 3
    with pytest.raises(StationError, match="nothing to change"):
        registry.update("CS-1")


def test_stations_on_postgresql(postgres_schema_url: str, tmp_path: Path) -> None:
    from ops_helpers import make_pnc

    pnc = make_pnc(tmp_path / "home", postgres_schema_url)
    pnc("pki", "init", "--org", "Test CA", "--ocsp-url", "http://127.0.0.1:1/ocsp")
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    pnc("stations", "add", "CS-PG", "--security-profile", "1", "--password-file", tmp_path / "pw")
    store = pnc.store()
    try:
        registry = StationRegistry(store, actor="t", clock=utcnow)
        assert registry.verify_password("CS-PG", PASSWORD)
        assert [r.station_id for r in registry.list()] == ["CS-PG"]
    finally:
        store.close()


# -- the command line


def test_cli_add_list_remove(pnc: Pnc, tmp_path: Path) -> None:
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    added = pnc(
        "stations",
        "add",
        "CS-1",
        "--security-profile",
        "1",
        "--password-file",
        tmp_path / "pw",
        "--format",
        "json",
    )
    assert json.loads(added.stdout)["password"] == "set"
    generated = pnc("stations", "add", "CS-2", "--generate-password", "--format", "json")
    secret = json.loads(generated.stdout)["password"]
    assert len(secret) == 40
    pnc("stations", "add", "CS-3", "--security-profile", "3")
    listed = json.loads(pnc("stations", "list", "--format", "json").stdout)
    assert [(r["station_id"], r["security_profile"], r["password"]) for r in listed] == [
        ("CS-1", 1, "set"),
        ("CS-2", 2, "set"),
        ("CS-3", 3, None),
    ]
    assert secret not in pnc("stations", "list").stdout
    store = pnc.store()
    try:
        registry = StationRegistry(store, actor="t", clock=utcnow)
        assert registry.verify_password("CS-2", secret)
    finally:
        store.close()
    pnc("stations", "remove", "CS-2")
    assert [r["station_id"] for r in json.loads(pnc("stations", "list", "--format", "json").stdout)] == [
        "CS-1",
        "CS-3",
    ]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["add", "CS-1"], 2, "needs --password-file or --generate-password"),
        (["add", "CS:1", "--generate-password"], 1, "invalid"),
        (["add", "CS-1", "--security-profile", "3", "--generate-password"], 1, "no password"),
        (["remove", "NOPE"], 1, "no station"),
        (["add", "CS-1", "--security-profile", "4", "--generate-password"], 2, "4"),
    ],
)
def test_cli_refusals(pnc: Pnc, args: list[str], code: int, message: str) -> None:
    result = pnc("stations", *args, ok=False)
    assert result.exit_code == code
    assert message in result.stderr
    assert json.loads(pnc("stations", "list", "--format", "json").stdout) == []
