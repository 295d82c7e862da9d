"""``pnc contracts`` end to end on SQLite and PostgreSQL: add, list, block, remove and the policy,
their JSON output, exit codes, one-line errors, and refusals that change nothing."""

from __future__ import annotations

import json
from pathlib import Path

from ops_helpers import Pnc
from sqlalchemy import text

PCID = "WMIV1234567890ABC"


def _state(pnc: Pnc) -> tuple[list[tuple[object, ...]], int]:
    with pnc.store() as store, store.engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text("SELECT * FROM contracts ORDER BY id"))]
        return rows, len(store.audit_entries())


def _refused(pnc: Pnc, *args: str, match: str, code: int = 1) -> None:
    before = _state(pnc)
    result = pnc(*args, ok=False)
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    if code == 1:
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert match in result.stderr, result.stderr
    assert _state(pnc) == before


def test_add_list_block_remove_round_trip_in_json(pnc_db: Pnc) -> None:
    added = json.loads(
        pnc_db(
            "contracts", "add", "--emaid", "DE-8AA-CA2B3C4D5", "--pcid", PCID, "--valid-to", "2030-12-31",
            "--format", "json",
        ).stdout
    )  # fmt: skip
    assert added["emaid"] == "DE8AACA2B3C4D5L" and added["pcid"] == PCID
    assert added["status"] == "active" and added["valid_to"] == "2030-12-31"
    pnc_db("contracts", "add", "--emaid", "DE8AACA2B3C4D6", "--status", "blocked")
    listed = json.loads(pnc_db("contracts", "list", "--format", "json").stdout)
    assert [(c["emaid"], c["status"]) for c in listed] == [
        ("DE8AACA2B3C4D5L", "active"),
        ("DE8AACA2B3C4D6Q", "blocked"),
    ]
    only = json.loads(pnc_db("contracts", "list", "--status", "blocked", "--format", "json").stdout)
    assert [c["emaid"] for c in only] == ["DE8AACA2B3C4D6Q"]
    by_vehicle = json.loads(pnc_db("contracts", "list", "--pcid", PCID, "--format", "json").stdout)
    assert [c["emaid"] for c in by_vehicle] == ["DE8AACA2B3C4D5L"]
    blocked = json.loads(pnc_db("contracts", "block", "DE8AACA2B3C4D5", "--format", "json").stdout)
    assert blocked["status"] == "blocked"
    pnc_db("contracts", "remove", "DE8AACA2B3C4D6Q")
    table = pnc_db("contracts", "list").stdout.splitlines()
    assert table[0].split() == ["EMAID", "PCID", "STATUS", "VALID_TO", "CERTIFICATE_SERIAL", "UPDATED_AT"]
    assert len(table) == 2 and table[1].split()[:3] == ["DE8AACA2B3C4D5L", PCID, "blocked"]
    with pnc_db.store() as store:
        actions = [e.action for e in store.audit_entries() if e.action.startswith("contract-")]
    assert actions == ["contract-add", "contract-add", "contract-block", "contract-remove"]


def test_a_contract_past_its_last_day_lists_as_expired(pnc: Pnc) -> None:
    pnc("contracts", "add", "--emaid", "DE8AACA2B3C4D5", "--valid-to", "2020-01-31")
    (row,) = json.loads(pnc("contracts", "list", "--format", "json").stdout)
    assert row["status"] == "expired" and row["registered_status"] == "active"
    assert "DE8AACA2B3C4D5L" in pnc("contracts", "list", "--status", "expired").stdout


def test_refusals_are_one_line_exit_1_and_change_nothing(pnc: Pnc) -> None:
    pnc("contracts", "add", "--emaid", "DE8AACA2B3C4D5", "--pcid", PCID)
    _refused(pnc, "contracts", "add", "--emaid", "DE8AACA2B3C4D5L", match="already in the registry")
    _refused(pnc, "contracts", "add", "--emaid", "DE8AACA2B3C4D6", "--pcid", PCID, match="active contract")
    _refused(pnc, "contracts", "add", "--emaid", "DE8AACA2B3C4D5X", match="check character")
    _refused(pnc, "contracts", "add", "--emaid", "DE8AACA2B3C4D6", "--pcid", "WMI-1", match="PCID")
    _refused(pnc, "contracts", "add", "--emaid", "DE8AACA2B3C4D6", "--valid-to", "31.12.2030", match="YYYY")
    _refused(pnc, "contracts", "block", "DE8AACA2B3C4D7", match="no contract with eMAID")
    _refused(pnc, "contracts", "remove", "DE8AACA2B3C4D7", match="no contract with eMAID")
    _refused(pnc, "contracts", "add", "--pcid", PCID, match="--emaid", code=2)
    _refused(
        pnc, "contracts", "add", "--emaid", "DE8AACA2B3C4D6", "--status", "paused", match="paused", code=2
    )


def test_a_home_that_was_never_initialised_is_refused(tmp_path: Path, pnc: Pnc) -> None:
    result = pnc("contracts", "list", "--home", str(tmp_path / "nowhere"), ok=False)
    assert result.exit_code == 1 and "not a CA home" in result.stderr
    assert not (tmp_path / "nowhere").exists()


def test_auto_provisioning_is_off_by_default_and_set_per_home(pnc: Pnc) -> None:
    assert json.loads(pnc("contracts", "policy", "--format", "json").stdout) == {
        "auto_provision": False,
        "emaid_prefix": None,
    }
    on = json.loads(pnc("contracts", "policy", "--auto-provision", "DE-PNC", "--format", "json").stdout)
    assert on == {"auto_provision": True, "emaid_prefix": "DE-PNC"}
    assert json.loads((pnc.home / "contracts.json").read_text()) == {"auto_provision_prefix": "DE-PNC"}
    result = pnc("contracts", "policy", "--auto-provision", "D1-PNC", ok=False)
    assert result.exit_code == 1 and "auto-provisioning prefix 'D1-PNC'" in result.stderr
    result = pnc("contracts", "policy", "--auto-provision", "DE-PNC", "--no-auto-provision", ok=False)
    assert result.exit_code == 2
    assert json.loads(pnc("contracts", "policy", "--format", "json").stdout)["emaid_prefix"] == "DE-PNC"
    off = json.loads(pnc("contracts", "policy", "--no-auto-provision", "--format", "json").stdout)
    assert off == {"auto_provision": False, "emaid_prefix": None}
    (pnc.home / "contracts.json").write_text("{not json")
    result = pnc("contracts", "policy", ok=False)
    assert result.exit_code == 1 and "damaged contract policy" in result.stderr
