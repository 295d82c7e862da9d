"""``pnc v2g``: decode and encode V2G messages (EXI <-> XML or JSON) from the command line.

    pnc v2g decode --protocol P [--fragment] [--format xml|json] [--v2gtp] [--lines] HEX|-
    pnc v2g encode --protocol P [--fragment] [--v2gtp] [--lines] FILE|-

``decode`` takes the EXI bytes as hexadecimal (whitespace ignored), ``encode`` takes the standard
XML instance (any prefixes) or the JSON form that ``decode --format json`` prints, and prints
hexadecimal. ``-`` reads standard input. ``--v2gtp`` reads
(decode) or writes (encode) a whole V2GTP frame: the 8-byte header, then the EXI stream.

``--lines`` is for scripts: one item per input line, one result per output line, in order. A line
that fails gives an empty output line and ``error: line N: ...`` on standard error; the other lines
are still processed and the exit code is 1 if any line failed. Blank input lines give blank
output lines. Without ``--lines`` the whole input is one item and an error is one line on standard
error with exit code 1 (``pnc/cli/main.py``).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from typing import Any

import click

import v2g
from pnc.errors import PncError, UsageError
from v2g.errors import V2GError
from v2g.v2gtp import frame_exi, parse_frame, payload_type_for

PROTOCOLS = ("sap", "din", "iso2", "iso20-cm", "iso20-ac", "iso20-dc", "iso20-wpt", "iso20-acdp", "xmldsig")
_NOT_HEX = re.compile(r"[^0-9a-fA-F]")


def _read(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        with open(source, encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        raise PncError(f"cannot read {source}: {exc.strerror}") from None


def _hex_bytes(text: str) -> bytes:
    compact = "".join(text.split())
    if compact[:2] in ("0x", "0X"):
        compact = compact[2:]
    bad = _NOT_HEX.search(compact)
    if bad:
        raise PncError(f"not hexadecimal: {bad.group()!r} at character {bad.start() + 1}")
    if len(compact) % 2:
        raise PncError(f"odd number of hex digits ({len(compact)})")
    if not compact:
        raise PncError("no EXI bytes given")
    return bytes.fromhex(compact)


def _check_protocol(protocol: str, fragment: bool, fmt: str = "xml") -> None:
    if protocol == "xmldsig" and not fragment:
        raise UsageError("xmldsig has fragments only: add --fragment")
    if fmt == "json" and fragment:
        raise UsageError("--format json is for messages; a fragment decodes to XML")


def _one_line(xml: str) -> str:
    """XML on one line: line breaks become character references (the same characters to XML)."""
    return xml.replace("\r", "&#13;").replace("\n", "&#10;")


def _encode_json(text: str, protocol: str, fragment: bool) -> bytes:
    if fragment:
        raise UsageError("a fragment is encoded from XML; JSON is for messages")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PncError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(document, dict):
        raise PncError('the JSON form of a message is an object: {"<root element>": {...}}')
    return v2g.encode(v2g.from_dict(document, protocol))


def _run_lines(text: str, convert: Callable[[str], str]) -> None:
    failed = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            click.echo("")
            continue
        try:
            click.echo(convert(line))
        except (V2GError, PncError) as exc:
            failed += 1
            click.echo("")
            click.echo(f"error: line {number}: {' '.join(str(exc).split())}", err=True)
    if failed:
        sys.exit(1)


@click.group("v2g")
def v2g_group() -> None:
    """Decode and encode V2G messages (SAP, DIN SPEC 70121, ISO 15118-2, ISO 15118-20)."""


def _common(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--lines", is_flag=True, help="One item per input line, one result per output line (for scripts)."
    )(f)
    f = click.option("--fragment", is_flag=True, help="An EXI fragment (what signatures digest).")(f)
    return click.option(
        "--protocol", "-p", required=True, type=click.Choice(PROTOCOLS), help="The grammar (schema) to use."
    )(f)


@v2g_group.command("decode")
@_common
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["xml", "json"]),
    default="xml",
    show_default=True,
    help="XML instance, or the message as JSON.",
)
@click.option("--v2gtp", is_flag=True, help="The input is a V2GTP frame (8-byte header, then EXI).")
@click.argument("source", metavar="HEX|-")
def decode_cmd(*, protocol: str, fragment: bool, lines: bool, fmt: str, v2gtp: bool, source: str) -> None:
    """Decode EXI (hexadecimal) to XML or JSON."""
    _check_protocol(protocol, fragment, fmt)
    if v2gtp and fragment:
        raise UsageError("--v2gtp frames messages; a fragment is never sent on its own")
    text = sys.stdin.read() if source == "-" else source

    def convert(item: str) -> str:
        data = _hex_bytes(item)
        if v2gtp:
            frame = parse_frame(data)
            if frame.payload_type != payload_type_for(protocol):
                raise PncError(
                    f"the V2GTP payload type is {frame.payload_type:#06x}; {protocol} travels "
                    f"as {payload_type_for(protocol):#06x}"
                )
            data = frame.payload
        if fmt == "json":
            document = v2g.to_dict(v2g.decode(data, protocol))
            return json.dumps(document, separators=(",", ":")) if lines else json.dumps(document, indent=2)
        xml = v2g.exi_to_xml(data, protocol, fragment=fragment)
        return _one_line(xml) if lines else xml

    if lines:
        _run_lines(text, convert)
    else:
        click.echo(convert(text))


@v2g_group.command("encode")
@_common
@click.option("--v2gtp", is_flag=True, help="Print a whole V2GTP frame (8-byte header, then EXI).")
@click.argument("source", metavar="FILE|-")
def encode_cmd(*, protocol: str, fragment: bool, lines: bool, v2gtp: bool, source: str) -> None:
    """Encode an XML instance (or the JSON form of a message) to EXI, printed as hexadecimal."""
    _check_protocol(protocol, fragment)
    if v2gtp and fragment:
        raise UsageError("--v2gtp frames messages; a fragment is never sent on its own")
    text = _read(source)

    def convert(item: str) -> str:
        text = item.strip()
        if not text:
            raise PncError("no XML or JSON given")
        if text.startswith("{"):
            data = _encode_json(text, protocol, fragment)
        else:
            data = v2g.xml_to_exi(item, protocol, fragment=fragment)
        return (frame_exi(data, protocol) if v2gtp else data).hex()

    if lines:
        _run_lines(text, convert)
    else:
        click.echo(convert(text))
