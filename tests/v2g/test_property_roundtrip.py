"""Generated messages of every protocol and message type round-trip through EXI.

Instances come from the published XSDs (``tests/vectors/xsd_instances.py``) with every decision
drawn by hypothesis: optional elements, array lengths, choice branches and substitution-group
members, and values (integers across their whole range, any XML character in strings, binaries).
For each: XML -> EXI -> XML is equivalent, and for documents EXI -> object -> EXI gives the same
bytes and the same object (fragments too). ``PNC_PROPERTY_EXAMPLES`` sets the examples per message (default 8).
"""

from __future__ import annotations

import base64
import functools
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from oracle_corpus import ROOT, encode_back, first_difference, load, vector_module

import v2g

X = vector_module("xsd_instances")
SCHEMAS = ROOT / "v2g" / "schemas"
EXAMPLES = int(os.environ.get("PNC_PROPERTY_EXAMPLES", "8"))
CASES = sorted({(v["protocol"], v["fragment"], v["message"]) for v in load()})


# XML 1.0 characters, without surrogates, controls and non-characters
_TEXT = st.characters(exclude_categories=("Cs", "Cc", "Cn"))
_URI = st.characters(min_codepoint=0x21, max_codepoint=0x7E)


def _value_strategy(stype: Any) -> st.SearchStrategy[str]:
    if stype.enumeration:
        return st.sampled_from([str(e) for e in stype.enumeration])
    primitive = X._primitive(stype)
    lo, hi = stype.min_length or 0, stype.max_length
    if primitive == "boolean":
        return st.sampled_from(["true", "false"])
    if primitive == "decimal" and X._is_integer(stype):
        low = int(stype.min_value) if stype.min_value is not None else -(10**30)
        high = int(stype.max_value) if stype.max_value is not None else 10**30
        return st.integers(low, high).map(str)
    if primitive in ("hexBinary", "base64Binary"):
        binary = st.binary(min_size=lo, max_size=max(lo, min(hi if hi is not None else 64, 64)))
        if primitive == "hexBinary":
            return binary.map(lambda b: b.hex().upper())
        return binary.map(lambda b: base64.b64encode(b).decode())
    top = max(lo, min(hi if hi is not None else 40, 40))
    if primitive == "anyURI":
        return st.text(_URI, min_size=lo, max_size=top)
    # no leading or trailing white space: XML tools differ on it, EXI does not care
    return st.text(_TEXT, min_size=lo, max_size=top).filter(lambda s: s == s.strip())


class DrawnPolicy(X.Policy):  # type: ignore[misc]
    """Every decision of the instance walker drawn by hypothesis."""

    def __init__(self, draw: Any) -> None:
        super().__init__("drawn", "drawn by hypothesis")
        self.draw = draw

    def optional(self, particle: Any) -> bool:
        return bool(self.draw(st.booleans()))

    def count(self, particle: Any, lo: int, hi: int | None) -> int:
        top = hi if hi is not None else X.UNBOUNDED_MAX
        if lo == top:
            return lo
        return int(self.draw(st.integers(lo, max(lo, min(top, lo + 3)))))

    def choice(self, particle: Any, n: int) -> int:
        return int(self.draw(st.integers(0, n - 1)))

    def value(self, stype: Any, name: str) -> str:
        return str(self.draw(_value_strategy(stype)))


@functools.cache
def _schema(protocol: str) -> Any:
    return X.load(SCHEMAS, protocol)


@functools.cache
def _target(protocol: str, fragment: bool, message: str) -> Any:
    return next(
        t for t in X.targets(_schema(protocol), protocol) if (t.fragment, t.message) == (fragment, message)
    )


@pytest.mark.parametrize("case", CASES, ids=[f"{p}:{m}" for p, _, m in CASES])
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_generated_message_round_trips_through_exi(case: tuple[str, bool, str], data: st.DataObject) -> None:
    protocol, fragment, message = case
    walker = X.Walker(_schema(protocol), DrawnPolicy(data.draw))
    xml = etree.tostring(_target(protocol, fragment, message).wrap(walker), encoding="unicode")
    exi = v2g.xml_to_exi(xml, protocol, fragment=fragment)
    assert first_difference(xml, v2g.exi_to_xml(exi, protocol, fragment=fragment)) is None
    msg = v2g.decode(exi, protocol, fragment=fragment)
    again = encode_back(msg, protocol, fragment, xml)
    assert again == exi
    assert v2g.decode(again, protocol, fragment=fragment) == msg
