"""``pnc contracts``: the contract registry (eMAID, PCID, status, validity) and its policy.

Changes are audited in the store's log with the actor (``$PNC_ACTOR``, else the OS user). A refused
change is one line on stderr with exit code 1 and writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import click

from pki.ca import CaService
from pki.contracts import ContractRecord, ContractRegistry, ContractStatus, parse_valid_to
from pki.home import Home
from pnc.cli.common import db_option, emit, emit_one, format_option, home_option
from pnc.core.policy import ContractPolicy, load_policy, save_policy
from pnc.errors import UsageError

COLUMNS = ["emaid", "pcid", "status", "valid_to", "certificate_serial", "updated_at"]


def _row(record: ContractRecord, now: dt.datetime) -> dict[str, object]:
    """A contract as printed: ``status`` is what the services act on now (an active contract past
    its last day shows as expired), ``registered_status`` what the registry holds."""
    row = record.summary()
    row["registered_status"] = row["status"]
    row["status"] = record.effective_status(now).value
    return row


def _registry(home: Path, db_url: str | None) -> tuple[CaService, ContractRegistry]:
    service = CaService(Home(home), db_url=db_url)
    return service, ContractRegistry.of(service)


@click.group("contracts")
def contracts() -> None:
    """The contract registry: which eMAID belongs to which vehicle (PCID), and its status."""


@contracts.command("add")
@click.option("--emaid", required=True, help="The eMAID, e.g. DE-8AA-CA2B3C4D5-L (check character optional).")
@click.option("--pcid", default=None, help="The PCID of the vehicle's OEM provisioning certificate.")
@click.option(
    "--status",
    type=click.Choice([s.value for s in ContractStatus]),
    default=ContractStatus.ACTIVE.value,
    show_default=True,
)
@click.option("--valid-to", default=None, metavar="YYYY-MM-DD", help="Last day of validity (UTC).")
@home_option
@db_option
@format_option
def add_cmd(
    *,
    emaid: str,
    pcid: str | None,
    status: str,
    valid_to: str | None,
    home: Path,
    db_url: str | None,
    fmt: str,
) -> None:
    """Register a contract (one active contract per PCID)."""
    until = parse_valid_to(valid_to) if valid_to is not None else None
    service, registry = _registry(home, db_url)
    with service:
        record = registry.add(emaid, pcid=pcid, status=ContractStatus(status), valid_to=until)
        emit_one(_row(record, service.clock()), fmt)


@contracts.command("list")
@click.option("--status", type=click.Choice([s.value for s in ContractStatus]), default=None)
@click.option("--pcid", default=None, help="Only the contracts of this vehicle.")
@home_option
@db_option
@format_option
def list_cmd(status: str | None, pcid: str | None, home: Path, db_url: str | None, fmt: str) -> None:
    """List the contracts (STATUS is what the services act on now)."""
    service, registry = _registry(home, db_url)
    with service:
        records = registry.for_pcid(pcid) if pcid is not None else registry.list()
        now = service.clock()
        rows = [_row(r, now) for r in records]
    if status is not None:
        rows = [r for r in rows if r["status"] == status]
    emit(rows, COLUMNS, fmt)


def _change_command(name: str, change: Callable[[ContractRegistry, str], ContractRecord], doc: str) -> None:
    def command(emaid: str, home: Path, db_url: str | None, fmt: str) -> None:
        service, registry = _registry(home, db_url)
        with service:
            emit_one(_row(change(registry, emaid), service.clock()), fmt)

    command.__doc__ = doc
    decorated = format_option(db_option(home_option(click.argument("emaid")(command))))
    contracts.command(name)(decorated)


_change_command(
    "block",
    ContractRegistry.block,
    "Block a contract: no installation for it; Authorize answers ContractCancelled/Blocked.",
)
_change_command(
    "remove",
    ContractRegistry.remove,
    "Remove a contract from the registry (its certificates stay in the store).",
)


@contracts.command("policy")
@click.option(
    "--auto-provision",
    "prefix",
    default=None,
    metavar="CC-PPP",
    help="Test benches: give unknown PCIDs a contract with an eMAID of this country + provider.",
)
@click.option("--no-auto-provision", is_flag=True, help="Unknown PCIDs get no contract (the default).")
@home_option
@format_option
def policy_cmd(prefix: str | None, no_auto_provision: bool, home: Path, fmt: str) -> None:
    """Show the home's contract policy; with an option, change it."""
    if prefix is not None and no_auto_provision:
        raise UsageError("--auto-provision and --no-auto-provision exclude each other")
    Home(home).load()  # only an initialised home has a policy
    if prefix is not None or no_auto_provision:
        save_policy(home, ContractPolicy(prefix))
    emit_one(load_policy(home).summary(), fmt)


__all__ = ["contracts"]
