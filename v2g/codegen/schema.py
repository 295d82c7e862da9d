"""Loading the published XSDs with ``xmlschema`` and the few facts about them the generator needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xmlschema

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"

XSD_NS = "http://www.w3.org/2001/XMLSchema"
XML_NS = "http://www.w3.org/XML/1998/namespace"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XMLDSIG_NS = "http://www.w3.org/2000/09/xmldsig#"

# protocol name -> root schema document (relative to v2g/schemas)
PROTOCOL_SCHEMAS: dict[str, str] = {
    "sap": "V2G_CI_AppProtocol.xsd",
    "din": "din_spec/V2G_CI_MsgDef.xsd",
    "iso2": "iso15118_2/V2G_CI_MsgDef.xsd",
    "iso20-cm": "iso15118_20/V2G_CI_CommonMessages.xsd",
    "iso20-ac": "iso15118_20/V2G_CI_AC.xsd",
    "iso20-dc": "iso15118_20/V2G_CI_DC.xsd",
    "iso20-wpt": "iso15118_20/V2G_CI_WPT.xsd",
    "iso20-acdp": "iso15118_20/V2G_CI_ACDP.xsd",
    "xmldsig": "xmldsig-core-schema.xsd",
}

# EXI 1.0 Appendix D.3: the built-in XML Schema types whose names pre-populate the
# "http://www.w3.org/2001/XMLSchema" local-name partition (and have type grammars for xsi:type).
BUILTIN_TYPE_NAMES: tuple[str, ...] = (
    "ENTITIES", "ENTITY", "ID", "IDREF", "IDREFS", "NCName", "NMTOKEN", "NMTOKENS", "NOTATION",
    "Name", "QName", "anySimpleType", "anyType", "anyURI", "base64Binary", "boolean", "byte", "date",
    "dateTime", "decimal", "double", "duration", "float", "gDay", "gMonth", "gMonthDay", "gYear",
    "gYearMonth", "hexBinary", "int", "integer", "language", "long", "negativeInteger",
    "nonNegativeInteger", "nonPositiveInteger", "normalizedString", "positiveInteger", "short",
    "string", "time", "token", "unsignedByte", "unsignedInt", "unsignedLong", "unsignedShort",
)  # fmt: skip

# namespaces that the XSD processor always knows but that are no part of a V2G schema
META_NAMESPACES = frozenset({XSD_NS, XML_NS, XSI_NS})


def load(protocol: str) -> Any:
    """The ``xmlschema`` model of a protocol's schema (imports resolved inside ``v2g/schemas``)."""
    root = SCHEMA_DIR / PROTOCOL_SCHEMAS[protocol]
    # DIN and -20 import xmldsig-core-schema.xsd from their own folder; the file lives one level up.
    # (SupportedAppProtocol imports nothing, so it gets no location hint: that would add xmldsig to it.)
    locations = None
    if protocol not in ("sap", "xmldsig"):
        locations = {XMLDSIG_NS: str(SCHEMA_DIR / "xmldsig-core-schema.xsd")}
    return xmlschema.XMLSchema10(str(root), locations=locations, use_fallback=False)


def split_name(name: str | None) -> tuple[str, str]:
    """``"{ns}local"`` -> ``(ns, local)``; an unqualified name has the empty namespace."""
    if name is None:
        raise ValueError("component without a name")
    if name.startswith("{"):
        ns, _, local = name[1:].partition("}")
        return ns, local
    return "", name
