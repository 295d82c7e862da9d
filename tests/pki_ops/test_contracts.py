"""The contract registry on SQLite and PostgreSQL: canonical eMAIDs, one active contract per PCID,
status changes, effective expiry, audit of every change, refusals that write nothing, the
auto-provisioned eMAID and the migration of a store made before the registry existed."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from sqlalchemy import text

from pki.contracts import (
    ContractError,
    ContractRegistry,
    ContractStatus,
    canonical_emaid,
    parse_valid_to,
    provisioned_emaid,
)
from pki.errors import AlreadyExistsError, IdentifierError, NotFoundError
from pki.identifiers import emaid_with_check_character, normalize_emaid
from pki.store import Store

NOW = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
PCID = "WMIV1234567890ABC"
OTHER_PCID = "WMIV1234567890ABD"


def _registry(store: Store) -> ContractRegistry:
    return ContractRegistry(store, actor="test-operator", clock=lambda: NOW)


def _snapshot(store: Store) -> tuple[list[Any], int]:
    with store.engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text("SELECT * FROM contracts ORDER BY id"))]
    return rows, len(store.audit_entries())


def test_contract_is_stored_under_its_canonical_emaid_and_found_by_any_spelling(db_url: str) -> None:
    with Store(db_url) as store:
        registry = _registry(store)
        record = registry.add("de-8aa-ca2b3c4d5", pcid=PCID, valid_to=dt.date(2027, 1, 31))
        assert record.emaid == "DE8AACA2B3C4D5L"  # the check character is added
        for spelling in ("DE-8AA-CA2B3C4D5-L", "DE8AACA2B3C4D5", "de8aaca2b3c4d5l"):
            found = registry.get(spelling)
            assert found == record
        assert found.pcid == PCID and found.status is ContractStatus.ACTIVE
        assert found.valid_to == dt.date(2027, 1, 31) and found.created_at == NOW.replace(microsecond=0)
        assert registry.for_pcid(PCID) == [record] and registry.list() == [record]
        (entry,) = store.audit_entries()
        assert entry.action == "contract-add" and entry.actor == "test-operator"
        assert entry.subject == "eMAID=DE8AACA2B3C4D5L"
        assert entry.details["pcid"] == PCID and entry.details["valid_to"] == "2027-01-31"


def test_a_registered_emaid_is_refused_again_and_nothing_is_written(db_url: str) -> None:
    with Store(db_url) as store:
        registry = _registry(store)
        registry.add("DE8AACA2B3C4D5", pcid=PCID)
        before = _snapshot(store)
        with pytest.raises(AlreadyExistsError, match="DE8AACA2B3C4D5L is already in the registry"):
            registry.add("DE-8AA-CA2B3C4D5-L", pcid=OTHER_PCID)
        assert _snapshot(store) == before


def test_a_vehicle_has_at_most_one_active_contract(db_url: str) -> None:
    with Store(db_url) as store:
        registry = _registry(store)
        registry.add("DE8AACA2B3C4D5", pcid=PCID)
        before = _snapshot(store)
        with pytest.raises(ContractError, match="already has the active contract DE8AACA2B3C4D5L"):
            registry.add("DE8AACA2B3C4D6", pcid=PCID)
        assert _snapshot(store) == before
        blocked = registry.add("DE8AACA2B3C4D6", pcid=PCID, status=ContractStatus.BLOCKED)
        # the active one comes first, then the newest
        assert [c.emaid for c in registry.for_pcid(PCID)] == ["DE8AACA2B3C4D5L", blocked.emaid]
        before = _snapshot(store)
        with pytest.raises(ContractError, match="already has the active contract"):
            registry.set_status(blocked.emaid, ContractStatus.ACTIVE)
        assert _snapshot(store) == before


def test_concurrent_adds_for_one_vehicle_leave_exactly_one_active_contract(db_url: str) -> None:
    with Store(db_url) as store:
        registry = _registry(store)
        barrier = threading.Barrier(6)
        outcomes: list[str] = []

        def add(n: int) -> None:
            barrier.wait()
            try:
                registry.add(f"DE8AACA2B3C4D{n}", pcid=PCID)
                outcomes.append("added")
            except ContractError:
                outcomes.append("refused")

        threads = [threading.Thread(target=add, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["added"] + ["refused"] * 5
        assert len(registry.list(status=ContractStatus.ACTIVE)) == 1
        assert [e.action for e in store.audit_entries()] == ["contract-add"]


def test_block_and_remove_are_audited_and_refused_for_unknown_or_unchanged_contracts(db_url: str) -> None:
    with Store(db_url) as store:
        registry = _registry(store)
        registry.add("DE8AACA2B3C4D5", pcid=PCID)
        blocked = registry.block("DE-8AA-CA2B3C4D5")
        assert blocked.status is ContractStatus.BLOCKED and registry.get(blocked.emaid) == blocked
        before = _snapshot(store)
        with pytest.raises(ContractError, match="already blocked"):
            registry.block(blocked.emaid)
        with pytest.raises(NotFoundError, match="no contract with eMAID DE8AACA2B3C4D7"):
            registry.remove("DE8AACA2B3C4D7")
        with pytest.raises(IdentifierError):
            registry.block("not an emaid")
        assert _snapshot(store) == before
        removed = registry.remove(blocked.emaid)
        assert removed == blocked and registry.find(blocked.emaid) is None
        entries = store.audit_entries()
        assert [e.action for e in entries] == ["contract-add", "contract-block", "contract-remove"]
        assert entries[1].details["previous_status"] == "active"
        assert entries[2].details["status"] == "blocked"


def test_an_active_contract_past_its_last_day_counts_as_expired(db_url: str) -> None:
    with Store(db_url) as store:
        record = _registry(store).add("DE8AACA2B3C4D5", valid_to=dt.date(2026, 3, 4))
    assert (
        record.effective_status(dt.datetime(2026, 3, 4, 23, 59, 59, tzinfo=dt.UTC)) is ContractStatus.ACTIVE
    )
    assert record.effective_status(dt.datetime(2026, 3, 5, tzinfo=dt.UTC)) is ContractStatus.EXPIRED
    # the day ends in UTC, whatever zone the caller's clock is in
    cet = dt.timezone(dt.timedelta(hours=1))
    assert record.effective_status(dt.datetime(2026, 3, 5, 0, 30, tzinfo=cet)) is ContractStatus.ACTIVE


def test_installation_records_the_serial_and_audits_without_secrets(db_url: str) -> None:
    with Store(db_url) as store:
        registry = _registry(store)
        registry.add("DE8AACA2B3C4D5", pcid=PCID)
        with store.transaction() as tx:
            registry.record_installation(tx, "DE8AACA2B3C4D5L", "1f2e", {"schema": "iso2"})
        assert registry.get("DE8AACA2B3C4D5L").certificate_serial == "1f2e"
        entry = store.audit_entries(serial="1f2e")[0]
        assert entry.action == "contract-install" and entry.details["schema"] == "iso2"


def test_a_store_of_revision_0001_is_migrated_and_keeps_its_certificates(tmp_path: Any) -> None:
    from alembic import command
    from alembic.config import Config

    from pki.store.database import MIGRATIONS, make_engine

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = make_engine(url)
    with engine.connect() as conn:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.execute(
            text(
                "INSERT INTO certificates (serial_hex, profile, role, subject, not_before, not_after, der,"
                " status, issued_at) VALUES ('ab', 'iso15118-2', 'contract', 'CN=x', :t, :t, :d, 'valid', :t)"
            ),
            {"t": NOW.replace(tzinfo=None), "d": b"\x30\x00"},
        )
        conn.commit()
    engine.dispose()
    with Store(url) as store:
        assert store.certificate("ab").subject == "CN=x"
        assert _registry(store).add("DE8AACA2B3C4D5").emaid == "DE8AACA2B3C4D5L"


def test_auto_provisioned_emaid_is_valid_stable_and_distinct_per_vehicle() -> None:
    first = provisioned_emaid("DE-PNC", PCID)
    assert first == provisioned_emaid("depnc", PCID)
    assert first.startswith("DEPNC") and len(first) == 15
    assert normalize_emaid(first) == first == emaid_with_check_character(first[:14])
    assert provisioned_emaid("DE-PNC", OTHER_PCID) != first
    for bad in ("D1-PNC", "DE-PN", "DE-PN_", "DEU-PNC"):
        with pytest.raises(IdentifierError, match="auto-provisioning prefix"):
            provisioned_emaid(bad, PCID)
    with pytest.raises(IdentifierError, match="PCID"):
        provisioned_emaid("DE-PNC", "short")


def test_bad_dates_statuses_and_emaids_are_refused_with_the_rule() -> None:
    assert parse_valid_to("2027-02-28") == dt.date(2027, 2, 28)
    with pytest.raises(ContractError, match="YYYY-MM-DD"):
        parse_valid_to("28.02.2027")
    with pytest.raises(ContractError, match="active, blocked, expired"):
        ContractStatus.parse("paused")
    with pytest.raises(IdentifierError, match="check character is 'X'"):
        canonical_emaid("DE8AACA2B3C4D5X")
