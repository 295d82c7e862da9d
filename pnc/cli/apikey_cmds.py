"""``pnc apikey``: keys of the operator REST API (``/v1``).

``create`` prints the key once (``pnc_<key id>_<secret>``); the store keeps only a hash of the
secret. ``list`` shows ids, roles and labels, ``revoke`` ends a key for good. Changes are audited
with the actor (``$PNC_ACTOR``, else the OS user).
"""

from __future__ import annotations

from pathlib import Path

import click

from pki.ca import CaService
from pki.home import Home
from pnc.cli.common import db_option, emit, emit_one, format_option, home_option
from pnc.core.apikeys import ApiKeys, ApiRole

COLUMNS = ["key_id", "role", "label", "created_at", "revoked_at"]


def _keys(home: Path, db_url: str | None) -> tuple[CaService, ApiKeys]:
    service = CaService(Home(home), db_url=db_url)
    return service, ApiKeys.of(service)


@click.group("apikey")
def apikey() -> None:
    """Keys of the REST API: readonly (reads), operator (Plug & Charge calls, stations, contracts),
    security (everything, certificate revocation included)."""


@apikey.command("create")
@click.option("--role", type=click.Choice([r.value for r in ApiRole]), required=True)
@click.option("--label", "--name", "label", default="", help="Who or what uses the key (shown in listings).")
@home_option
@db_option
@format_option
def create_cmd(role: str, label: str, home: Path, db_url: str | None, fmt: str) -> None:
    """Create a key and print it; it is shown only this once."""
    service, keys = _keys(home, db_url)
    with service:
        key_id, token = keys.create(ApiRole(role), label)
    emit_one({"key_id": key_id, "role": role, "label": label.strip(), "token": token}, fmt)
    if fmt != "json":
        click.echo("Keep the token now: only its hash is stored and it cannot be shown again.", err=True)


@apikey.command("list")
@click.option("--active", is_flag=True, help="Only keys that are not revoked.")
@home_option
@db_option
@format_option
def list_cmd(active: bool, home: Path, db_url: str | None, fmt: str) -> None:
    """List the keys (never their secrets)."""
    service, keys = _keys(home, db_url)
    with service:
        rows = [k.summary() for k in keys.list(include_revoked=not active)]
    emit(rows, COLUMNS, fmt)


@apikey.command("revoke")
@click.argument("key_id")
@home_option
@db_option
@format_option
def revoke_cmd(key_id: str, home: Path, db_url: str | None, fmt: str) -> None:
    """Revoke a key: requests with it are refused (in a running server within seconds)."""
    service, keys = _keys(home, db_url)
    with service:
        emit_one(keys.revoke(key_id).summary(), fmt)


__all__ = ["apikey"]
