"""The certificate store on SQLite and PostgreSQL: migrations, durability settings, uniqueness,
revocation, CRL numbers and the append-only audit log."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from pki.errors import AlreadyExistsError, NotFoundError, PkiError, StoreError
from pki.store import SCHEMA_REVISION, Store, parse_serial, serial_hex
from pki.store.models import Base

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def _add_cert(tx, serial: str, *, issuer: int | None = None, role: str = "contract", days: int = 30) -> int:  # type: ignore[no-untyped-def]
    return tx.add_certificate(
        serial=serial,
        issuer_ca_id=issuer,
        profile="iso15118-2",
        role=role,
        subject=f"CN={serial}",
        not_before=NOW,
        not_after=NOW + dt.timedelta(days=days),
        der=b"\x30\x00" + serial.encode(),
        issued_at=NOW,
    )


def _with_ca(store: Store) -> int:
    with store.transaction() as tx:
        cert_id = _add_cert(tx, "a1", role="mo-sub2", days=3650)
        return tx.add_ca(
            name="iso15118-2/mo-sub2",
            profile="iso15118-2",
            role="mo-sub2",
            certificate_id=cert_id,
            key_ref="file:k",
            at=NOW,
        )


def test_migrations_create_exactly_the_models_schema(db_url: str) -> None:
    with Store(db_url) as store:
        inspector = inspect(store.engine)
        tables = set(inspector.get_table_names()) - {"alembic_version"}
        assert tables == set(Base.metadata.tables)
        for name, table in Base.metadata.tables.items():
            assert {c["name"] for c in inspector.get_columns(name)} == {c.name for c in table.columns}
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_REVISION


def test_schema_revision_constant_is_the_alembic_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from pki.store.database import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_REVISION


def test_reopening_a_migrated_store_keeps_its_data(db_url: str) -> None:
    with Store(db_url) as store:
        _with_ca(store)
    with Store(db_url) as store:
        assert [ca.name for ca in store.cas()] == ["iso15118-2/mo-sub2"]


def test_sqlite_store_runs_wal_with_full_sync(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 's.db'}") as store, store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_postgres_commits_wait_for_the_wal_flush(postgres_schema_url: str) -> None:
    with Store(postgres_schema_url) as store, store.engine.connect() as conn:
        assert conn.execute(text("SHOW synchronous_commit")).scalar() == "on"


def test_duplicate_serial_is_refused_and_nothing_is_written(db_url: str) -> None:
    with Store(db_url) as store:
        ca = _with_ca(store)
        with store.transaction() as tx:
            _add_cert(tx, "beef", issuer=ca)
        before = store.row_counts()
        with pytest.raises(AlreadyExistsError, match="beef"), store.transaction() as tx:
            tx.audit(at=NOW, actor="t", action="issue", serial="beef")
            _add_cert(tx, "beef", issuer=ca)
        assert store.row_counts() == before


def test_revocation_is_recorded_and_advances_the_epoch(db_url: str) -> None:
    with Store(db_url) as store:
        ca = _with_ca(store)
        with store.transaction() as tx:
            _add_cert(tx, "c0ffee", issuer=ca)
        epoch = store.revocation_epoch()
        assert store.revocation_state(ca, "c0ffee") is not None
        assert store.revocation_state(ca, "c0ffee").status == "good"  # type: ignore[union-attr]
        at = NOW + dt.timedelta(hours=1)
        with store.transaction() as tx:
            tx.revoke("c0ffee", revoked_at=at, reason="keyCompromise")
        state = store.revocation_state(ca, "c0ffee")
        assert state is not None and (state.status, state.revoked_at, state.reason) == (
            "revoked",
            at,
            "keyCompromise",
        )
        assert store.revocation_epoch() == epoch + 1
        assert store.revoked_entries(ca) == [("c0ffee", at, "keyCompromise")]
        record = store.certificate("c0ffee")
        assert (record.status, record.issuer, record.revoked_at) == ("revoked", "iso15118-2/mo-sub2", at)


def test_revoking_an_unknown_or_revoked_serial_is_refused(db_url: str) -> None:
    with Store(db_url) as store:
        ca = _with_ca(store)
        with pytest.raises(NotFoundError, match="dead"), store.transaction() as tx:
            tx.revoke("dead", revoked_at=NOW, reason="unspecified")
        with store.transaction() as tx:
            _add_cert(tx, "dead", issuer=ca)
        with store.transaction() as tx:
            tx.revoke("dead", revoked_at=NOW, reason="unspecified")
        before = store.row_counts()
        with pytest.raises(AlreadyExistsError, match="already revoked"), store.transaction() as tx:
            tx.revoke("dead", revoked_at=NOW, reason="superseded")
        assert store.row_counts() == before


def test_crl_numbers_increase_per_ca(db_url: str) -> None:
    with Store(db_url) as store:
        ca = _with_ca(store)
        numbers = []
        for _ in range(3):
            with store.transaction() as tx:
                numbers.append(tx.next_crl_number(ca, NOW, NOW + dt.timedelta(days=7)))
        assert numbers == [1, 2, 3]


def test_audit_log_refuses_update_and_delete(db_url: str) -> None:
    with Store(db_url) as store:
        with store.transaction() as tx:
            tx.audit(at=NOW, actor="alice", action="issue", subject="CN=x", serial="ab", details={"k": 1})
        [entry] = store.audit_entries()
        assert (entry.actor, entry.action, entry.serial_hex, entry.details, entry.at) == (
            "alice",
            "issue",
            "ab",
            {"k": 1},
            NOW,
        )
        for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
            with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:
                conn.execute(text(statement))
        assert [e.actor for e in store.audit_entries()] == ["alice"]


def test_list_filters_by_role_expiry_and_revocation(db_url: str) -> None:
    with Store(db_url) as store:
        ca = _with_ca(store)
        with store.transaction() as tx:
            _add_cert(tx, "1", issuer=ca, days=10)
            _add_cert(tx, "2", issuer=ca, days=100)
            _add_cert(tx, "3", issuer=ca, role="secc", days=10)
            tx.revoke("2", revoked_at=NOW, reason="superseded")
        assert [c.serial_hex for c in store.certificates(role="contract")] == ["1", "2"]
        assert [c.serial_hex for c in store.certificates(expiring_before=NOW + dt.timedelta(days=20))] == [
            "1",
            "3",
        ]
        assert [c.serial_hex for c in store.certificates(revoked=True)] == ["2"]


def test_unreachable_or_malformed_database_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a database URL"):
        Store("::nonsense::")
    with pytest.raises(StoreError, match="does not exist"):
        Store(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")
    with pytest.raises(StoreError, match="cannot open the store"):
        Store("postgresql+psycopg://nobody@127.0.0.1:1/none")


@pytest.mark.parametrize(
    ("given", "canonical"), [("0x00AbC", "abc"), ("ab:cd", "abcd"), ("000", "0"), (" 1F ", "1f")]
)
def test_serial_numbers_are_read_as_hex(given: str, canonical: str) -> None:
    assert parse_serial(given) == canonical


@pytest.mark.parametrize("given", ["", "xyz", "12-34", "0x"])
def test_non_hex_serial_numbers_are_refused(given: str) -> None:
    with pytest.raises(PkiError, match="not hexadecimal"):
        parse_serial(given)


def test_serial_hex_has_no_leading_zeros() -> None:
    assert serial_hex(0x0123) == "123"


def test_group_commit_keeps_every_concurrent_write_and_isolates_a_refusal(db_url: str) -> None:
    import threading

    with Store(db_url) as store:
        ca = _with_ca(store)
        errors: list[Exception] = []

        def write(serial: str) -> None:
            try:
                store.submit(lambda tx: _add_cert(tx, serial, issuer=ca))
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(format(i, "x"),)) for i in range(1, 41)]
        threads.append(threading.Thread(target=write, args=("a1",)))  # the CA's own serial: refused
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(errors) == 1 and isinstance(errors[0], AlreadyExistsError)
        assert len(store.certificates(issuer_ca_id=ca)) == 40
        assert store.submit(lambda tx: tx.serial_exists("28")) is True


def test_processes_opening_a_new_store_at_once_migrate_it_once(db_url: str) -> None:
    import threading

    stores: list[Store] = []
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            stores.append(Store(db_url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(stores) == 4
    with stores[0].engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    for store in stores:
        store.close()
