"""Subject and issuer names of V2G certificates: CN, O, C and DC, nothing else.

The CA writes names in the order C, O, DC, CN, one attribute per RDN, with the string types
RFC 5280 and RFC 4519 ask for: C as PrintableString, DC as IA5String, CN and O as UTF8String.
Names from the field are read tolerantly: every attribute is kept in ``attributes`` and the first
CN, O, C and DC fill the four fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from asn1crypto import core, x509

from pki.errors import CertificateParseError, ProfileViolation

OID_COMMON_NAME = "2.5.4.3"
OID_COUNTRY = "2.5.4.6"
OID_ORGANIZATION = "2.5.4.10"
OID_DOMAIN_COMPONENT = "0.9.2342.19200300.100.1.25"

_SHORT = {
    OID_COMMON_NAME: "CN",
    OID_COUNTRY: "C",
    OID_ORGANIZATION: "O",
    OID_DOMAIN_COMPONENT: "DC",
    "2.5.4.11": "OU",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.5": "serialNumber",
}

UB_COMMON_NAME = 64  # RFC 5280 Appendix A upper bounds
UB_ORGANIZATION = 64
_COUNTRY = re.compile(r"[A-Z]{2}", re.ASCII)
_DOMAIN_COMPONENT = re.compile(r"[A-Za-z0-9-]{1,63}", re.ASCII)


def _printable(text: str) -> bool:
    return all(c.isprintable() for c in text)


@dataclass(frozen=True)
class SubjectName:
    """A distinguished name as the V2G PKI uses it.

    ``attributes`` holds every (attribute OID, value) pair in encoding order when the name was
    parsed; it does not take part in equality, and :meth:`to_der` writes only the four fields.
    """

    common_name: str
    organization: str | None = None
    country: str | None = None
    domain_component: str | None = None
    attributes: tuple[tuple[str, str], ...] = field(default=(), compare=False, repr=False)

    def values(self, oid: str) -> tuple[str, ...]:
        """Every value of one attribute type (a name may carry several DCs)."""
        return tuple(value for key, value in self.attributes if key == oid)

    def check(self) -> None:
        """Raise :class:`ProfileViolation` unless the name can be encoded as the CA encodes names."""
        if not self.common_name or len(self.common_name) > UB_COMMON_NAME:
            raise ProfileViolation(
                "subject-name", f"CN must have 1 to {UB_COMMON_NAME} characters, got {self.common_name!r}"
            )
        if not _printable(self.common_name):
            raise ProfileViolation("subject-name", f"CN {self.common_name!r} contains control characters")
        if self.organization is not None and (
            not self.organization
            or len(self.organization) > UB_ORGANIZATION
            or not _printable(self.organization)
        ):
            raise ProfileViolation(
                "subject-name",
                f"O must have 1 to {UB_ORGANIZATION} printable characters, got {self.organization!r}",
            )
        if self.country is not None and not _COUNTRY.fullmatch(self.country):
            raise ProfileViolation(
                "subject-name", f"C must be an ISO 3166-1 alpha-2 code in capitals, got {self.country!r}"
            )
        if self.domain_component is not None and not _DOMAIN_COMPONENT.fullmatch(self.domain_component):
            raise ProfileViolation(
                "subject-name", f"DC must be 1 to 63 letters, digits or '-', got {self.domain_component!r}"
            )

    def to_der(self) -> bytes:
        """The DER Name (C, O, DC, CN); raises :class:`ProfileViolation` for unencodable values."""
        return _name_der(self)

    def _encode(self) -> bytes:
        self.check()
        rdns = []
        if self.country is not None:
            rdns.append(_rdn("country_name", core.PrintableString(self.country)))
        if self.organization is not None:
            rdns.append(_rdn("organization_name", _utf8(self.organization)))
        if self.domain_component is not None:
            rdns.append(_rdn("domain_component", self.domain_component))
        rdns.append(_rdn("common_name", _utf8(self.common_name)))
        return bytes(x509.Name(name="", value=x509.RDNSequence(rdns)).dump())

    @classmethod
    def from_der(cls, der: bytes) -> SubjectName:
        """Parse a DER Name; raises :class:`CertificateParseError` if it is not one."""
        try:
            name = x509.Name.load(der, strict=True)
            return cls.from_asn1(name)
        except CertificateParseError:
            raise
        except Exception as exc:  # asn1crypto raises many exception types on malformed input
            raise CertificateParseError(f"malformed Name: {exc}") from None

    @classmethod
    def from_asn1(cls, name: x509.Name) -> SubjectName:
        """From an asn1crypto Name (as found inside a parsed certificate or CSR)."""
        pairs: list[tuple[str, str]] = []
        try:
            for rdn in name.chosen:
                for pair in rdn:
                    value = pair["value"].native
                    if not isinstance(value, str):
                        value = str(value)
                    pairs.append((pair["type"].dotted, value))
        except Exception as exc:  # asn1crypto raises many exception types on malformed input
            raise CertificateParseError(f"malformed Name attribute: {exc}") from None

        def first(oid: str) -> str | None:
            return next((v for k, v in pairs if k == oid), None)

        return cls(
            common_name=first(OID_COMMON_NAME) or "",
            organization=first(OID_ORGANIZATION),
            country=first(OID_COUNTRY),
            domain_component=first(OID_DOMAIN_COMPONENT),
            attributes=tuple(pairs),
        )

    def rfc4514(self) -> str:
        """A one-line display form, e.g. ``CN=DE8AACA2B3C4D5L,DC=MO,O=Example,C=DE``."""
        if self.attributes:
            pairs = list(reversed(self.attributes))
        else:
            pairs = [(OID_COMMON_NAME, self.common_name)]
            pairs += [(OID_DOMAIN_COMPONENT, self.domain_component)] if self.domain_component else []
            pairs += [(OID_ORGANIZATION, self.organization)] if self.organization else []
            pairs += [(OID_COUNTRY, self.country)] if self.country else []
        return ",".join(f"{_SHORT.get(oid, oid)}={_escape(value)}" for oid, value in pairs)

    def __str__(self) -> str:
        return self.rfc4514()


@lru_cache(maxsize=256)
def _name_der(name: SubjectName) -> bytes:
    return name._encode()


def _escape(value: str) -> str:
    out = "".join("\\" + c if c in ',+"\\<>;=' else c for c in value)
    if out.startswith((" ", "#")):
        out = "\\" + out
    if out.endswith(" "):
        out = out[:-1] + "\\ "
    return out


def _utf8(text: str) -> x509.DirectoryString:
    return x509.DirectoryString(name="utf8_string", value=text)


def _rdn(attribute: str, value: object) -> x509.RelativeDistinguishedName:
    return x509.RelativeDistinguishedName([x509.NameTypeAndValue({"type": attribute, "value": value})])
