"""Options and output shared by every ``pnc`` command.

Conventions (docs/cli.md): every command takes ``--home DIR`` (default ``$PNC_HOME``, else
``./pnc-home``), ``--db URL`` where it touches the store and ``--format table|json`` where it prints
records. Exit code 0 on success, 1 on a refused operation, 2 on a usage error; an error is one line
on stderr.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_HOME = "./pnc-home"


def default_home() -> Path:
    return Path(os.environ.get("PNC_HOME") or DEFAULT_HOME)


def home_option(f: F) -> F:
    return click.option(
        "--home",
        type=click.Path(file_okay=False, path_type=Path),
        default=default_home,
        show_default="$PNC_HOME, else ./pnc-home",
        help="The home directory: configuration, store and encrypted CA keys.",
    )(f)


def db_option(f: F) -> F:
    return click.option(
        "--db",
        "db_url",
        envvar="PNC_DB_URL",
        default=None,
        help="SQLAlchemy URL of the store (default: SQLite in the home; PNC_DB_URL).",
    )(f)


def format_option(f: F) -> F:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "json"]),
        default="table",
        show_default=True,
        help="Table for people, JSON for scripts.",
    )(f)


def render_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """A plain-text table with a header line; cells are str()-ed, None shows as '-'."""
    cells = [[("-" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


def emit(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], fmt: str) -> None:
    """Print records as a table (people) or a JSON array (scripts)."""
    if fmt == "json":
        click.echo(json.dumps(list(rows), indent=2, default=str))
    elif rows:
        click.echo(render_table(rows, columns))
    else:
        click.echo("(none)")


def emit_one(record: Mapping[str, Any], fmt: str) -> None:
    """Print one record as aligned key/value lines (people) or a JSON object (scripts)."""
    if fmt == "json":
        click.echo(json.dumps(dict(record), indent=2, default=str))
        return
    width = max((len(k) for k in record), default=0)
    for key, value in record.items():
        click.echo(f"{key.ljust(width)}  {'-' if value is None else value}")
