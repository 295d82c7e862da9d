"""The list of ``pnc`` subcommand groups (imported lazily so that ``pnc --help`` stays fast)."""

from __future__ import annotations

import importlib

import click

# module path, attribute: each attribute is a click.Group
_GROUPS: list[tuple[str, str]] = [
    ("pnc.cli.pki_cmds", "pki"),
    ("pnc.cli.v2g_cmds", "v2g_group"),
    ("pnc.cli.contracts_cmds", "contracts"),
    ("pnc.cli.stations_cmds", "stations"),
    ("pnc.cli.serve_cmd", "serve"),
    ("pnc.cli.apikey_cmds", "apikey"),
    ("pnc.cli.demo_cmd", "demo"),
    ("pnc.cli.sim_cmds", "sim"),
]


def groups() -> list[click.Command]:
    out: list[click.Command] = []
    for module, attr in _GROUPS:
        cmd = getattr(importlib.import_module(module), attr)
        assert isinstance(cmd, click.Command)
        out.append(cmd)
    return out
