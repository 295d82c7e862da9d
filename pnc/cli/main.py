"""The ``pnc`` command: one entry point, noun-verb subcommands."""

from __future__ import annotations

import sys

import click

from pki.errors import PkiError
from pnc import __version__
from pnc.errors import PncError, UsageError
from v2g.errors import V2GError


class _Group(click.Group):
    """Turns every error of our packages into one line on stderr and exit code 1 (2 for usage)."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except (PncError, PkiError, V2GError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pnc")
def cli() -> None:
    """ISO 15118 Plug & Charge: V2G PKI, EXI codec and OCPP bridge."""


def _register() -> None:
    # Subcommand groups register themselves here; each lives in its own module.
    from pnc.cli import registry

    for group in registry.groups():
        cli.add_command(group)


def main() -> None:
    _register()
    cli(prog_name="pnc")
