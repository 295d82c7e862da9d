"""``pnc demo``: the whole Plug & Charge journey on loopback in one command (:mod:`pnc.sim.demo`).

Progress goes to stderr while the journey runs; the result is a table of the steps (or, with
``--json``, one JSON document) on stdout. Exit code 0 only when every step did what it should.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path

import click

from pnc.cli.common import render_table
from pnc.sim.steps import DemoReport

PROTOCOL_CHOICES = ["iso15118-2", "iso15118-20", "din"]
WRAP = 72


def render(report: DemoReport) -> str:
    """The steps as a table for people, then the verdict."""
    rows = []
    for index, step in enumerate(report.steps, start=1):
        observed = textwrap.wrap(step.observed, WRAP) or [""]
        rows.append(
            {
                "#": index,
                "step": step.name,
                "ok": "ok" if step.ok else "FAILED",
                "time": _ms(step.seconds),
                "what happened": observed[0],
            }
        )
        rows += [_more(line) for line in observed[1:]]
        if not step.ok:
            rows += [_more(line) for line in textwrap.wrap("expected: " + step.expected, WRAP)]
    title = f"pnc demo --protocol {report.protocol}" + (
        "" if report.plug_and_charge else "  (DIN SPEC 70121: EIM only, no Plug & Charge)"
    )
    lines = [title, "", render_table(rows, ["#", "step", "ok", "time", "what happened"]), ""]
    if report.error:
        lines.append(f"stopped: {report.error}")
    verdict = "every step did what it should" if report.ok else "FAILED"
    lines.append(f"{verdict} ({_ms(report.seconds)} in all)")
    return "\n".join(lines)


def _more(text: str) -> dict[str, object]:
    return {"#": "", "step": "", "ok": "", "time": "", "what happened": text}


def _ms(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms"


@click.command("demo")
@click.option(
    "--protocol",
    type=click.Choice(PROTOCOL_CHOICES),
    default="iso15118-2",
    show_default=True,
    help="ISO 15118-2 (TLS 1.2), ISO 15118-20 (TLS 1.3, mutual) or DIN SPEC 70121 (EIM only).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of the table.")
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the demo's home here (new or empty directory) to look at afterwards; its CA keys are "
    "encrypted with a passphrase of this run only. Default: a temporary home, removed after.",
)
@click.option(
    "--loops", type=click.IntRange(1, 1000), default=5, show_default=True, help="Charge loop exchanges."
)
def demo(protocol: str, as_json: bool, home: Path | None, loops: int) -> None:
    """Plug & Charge end to end on loopback: PKI, bridge, charger and EV simulators, installation,
    authorization, charging, revocation and a refused authorization."""
    from pnc.sim.demo import Journey

    temporary = home is None
    where = Path(tempfile.mkdtemp(prefix="pnc-demo-")) / "home" if home is None else home

    def progress(line: str) -> None:
        click.echo(line, err=True)

    try:
        report = asyncio.run(Journey(protocol, where, progress=progress, loops=loops).run())
    finally:
        if temporary:
            shutil.rmtree(where.parent, ignore_errors=True)
    if as_json:
        click.echo(json.dumps(report.summary(), indent=2, default=str))
    else:
        click.echo(render(report))
    sys.exit(0 if report.ok else 1)


__all__ = ["demo", "render"]
