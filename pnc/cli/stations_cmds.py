"""``pnc stations``: the charging stations the bridge accepts, their security profile and password.

Profiles 1 (Basic Auth) and 2 (TLS + Basic Auth) need a password: ``--password-file`` (its first
line) or ``--generate-password`` (printed once, never stored in clear). Profile 3 (mutual TLS) has
none. Changes are audited with the actor (``$PNC_ACTOR``, else the OS user); a refused change is one
line on stderr with exit code 1 and writes nothing.
"""

from __future__ import annotations

from pathlib import Path

import click

from pki.ca import CaService
from pki.home import Home
from pnc.cli.common import db_option, emit, emit_one, format_option, home_option
from pnc.core.stations import StationRecord, StationRegistry, generate_password
from pnc.errors import UsageError

COLUMNS = ["station_id", "security_profile", "password", "created_at", "updated_at"]


def _registry(home: Path, db_url: str | None) -> tuple[CaService, StationRegistry]:
    service = CaService(Home(home), db_url=db_url)
    return service, StationRegistry.of(service)


def _read_password(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the password file {path}: {exc}") from None
    lines = text.splitlines()
    if not lines or not lines[0]:
        raise UsageError(f"the password file {path} has no password on its first line")
    return lines[0]


def _password(password_file: Path | None, generate: bool) -> tuple[str | None, bool]:
    """(the password, whether it was generated here) from the options."""
    if password_file is not None and generate:
        raise UsageError("--password-file and --generate-password exclude each other")
    if generate:
        return generate_password(), True
    if password_file is not None:
        return _read_password(password_file), False
    return None, False


def _emit(record: StationRecord, fmt: str, generated: str | None) -> None:
    row: dict[str, object] = record.summary()
    if generated is not None:
        row["password"] = generated  # shown this once; the store keeps only its hash
    emit_one(row, fmt)
    if generated is not None and fmt == "table":
        click.echo(
            "(the password is shown only now: configure it as the station's BasicAuthPassword)", err=True
        )


password_file_option = click.option(
    "--password-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="File whose first line is the station's Basic Auth password (16-40 characters).",
)
generate_option = click.option(
    "--generate-password",
    "generate",
    is_flag=True,
    help="Generate a 40-character password and print it once.",
)
profile_choice = click.Choice(["1", "2", "3"])


@click.group("stations")
def stations() -> None:
    """Charging stations: OCPP identity, security profile (1, 2, 3) and Basic Auth password."""


@stations.command("add")
@click.argument("station_id")
@click.option(
    "--security-profile",
    "profile",
    type=profile_choice,
    default="2",
    show_default=True,
    help="1 Basic Auth over ws://, 2 TLS + Basic Auth, 3 mutual TLS (client certificate CN = STATION_ID).",
)
@password_file_option
@generate_option
@home_option
@db_option
@format_option
def add_cmd(
    *,
    station_id: str,
    profile: str,
    password_file: Path | None,
    generate: bool,
    home: Path,
    db_url: str | None,
    fmt: str,
) -> None:
    """Register a station (profiles 1 and 2 need --password-file or --generate-password)."""
    password, generated = _password(password_file, generate)
    if profile != "3" and password is None:
        raise UsageError(f"security profile {profile} needs --password-file or --generate-password")
    service, registry = _registry(home, db_url)
    with service:
        record = registry.add(station_id, int(profile), password)
    _emit(record, fmt, password if generated else None)


@stations.command("update")
@click.argument("station_id")
@click.option("--security-profile", "profile", type=profile_choice, default=None)
@password_file_option
@generate_option
@home_option
@db_option
@format_option
def update_cmd(
    *,
    station_id: str,
    profile: str | None,
    password_file: Path | None,
    generate: bool,
    home: Path,
    db_url: str | None,
    fmt: str,
) -> None:
    """Change a station's security profile or password (moving to profile 3 drops the password)."""
    password, generated = _password(password_file, generate)
    service, registry = _registry(home, db_url)
    with service:
        record = registry.update(
            station_id, security_profile=int(profile) if profile is not None else None, password=password
        )
    _emit(record, fmt, password if generated else None)


@stations.command("list")
@home_option
@db_option
@format_option
def list_cmd(home: Path, db_url: str | None, fmt: str) -> None:
    """List the registered stations (passwords are never shown: only whether one is set)."""
    service, registry = _registry(home, db_url)
    with service:
        rows = [r.summary() for r in registry.list()]
    emit(rows, COLUMNS, fmt)


@stations.command("remove")
@click.argument("station_id")
@home_option
@db_option
@format_option
def remove_cmd(station_id: str, home: Path, db_url: str | None, fmt: str) -> None:
    """Remove a station: it can no longer connect (its certificates stay in the store)."""
    service, registry = _registry(home, db_url)
    with service:
        record = registry.remove(station_id)
    emit_one(record.summary(), fmt)


__all__ = ["stations"]
