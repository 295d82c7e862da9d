"""Pure-Python codec for the V2G protocols: SAP, DIN SPEC 70121, ISO 15118-2 and ISO 15118-20."""

from v2g.errors import V2GError

__all__ = ["V2GError"]
