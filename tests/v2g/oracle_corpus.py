"""Loads the EXIficient interop corpus (``tests/vectors/oracle``) and its XML equivalence for tests."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lxml import etree

import v2g

ROOT = Path(__file__).resolve().parents[2]
ORACLE_DIR = ROOT / "tests" / "vectors" / "oracle"
WHITESPACE = ROOT / "tests" / "vectors" / "oracle_whitespace.jsonl"  # the white-space instances
PROTOCOLS = ("sap", "din", "iso2", "iso20-cm", "iso20-ac", "iso20-dc", "iso20-wpt", "iso20-acdp", "xmldsig")


def load() -> list[dict[str, Any]]:
    """Every vector of every protocol file and of the white-space file, in file order."""
    out: list[dict[str, Any]] = []
    for path in [*(ORACLE_DIR / f"{p}.jsonl" for p in PROTOCOLS), WHITESPACE]:
        with path.open(encoding="utf-8") as f:
            out += [json.loads(line) for line in f if line.strip()]
    return out


def vector_id(vec: dict[str, Any]) -> str:
    return f"{vec['protocol']}:{vec['message']}:{vec['variant']}"


def vector_module(name: str) -> Any:
    """A helper module of ``tests/vectors`` (``xml_equivalence``, ``xsd_instances``)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "tests" / "vectors" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


first_difference: Callable[[str | bytes, str | bytes], str | None] = vector_module(
    "xml_equivalence"
).first_difference


def encode_back(message: Any, protocol: str, fragment: bool, xml: str) -> bytes:
    """``v2g.encode`` of what ``v2g.decode`` returned. A fragment of a simple-typed element decodes
    to a bare value, so its element and protocol are passed along (taken from the XML)."""

    if not fragment:
        return v2g.encode(message)
    root = etree.QName(etree.fromstring(xml.encode()))
    return v2g.encode(
        message, fragment=True, element=(root.namespace or "", root.localname), protocol=protocol
    )
