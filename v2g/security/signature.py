"""Create and verify the XML signature of ISO 15118-2 and -20 messages.

A signature covers a list of elements, each referenced as ``URI="#<Id>"`` with one Transform
``canonical-exi`` and the suite's DigestMethod; its DigestValue is the digest of the element's EXI
fragment. The SignatureValue signs the EXI fragment of SignedInfo (ISO 15118-2 Annex J.2,
[V2G2-771]). The signature suite (P-256/SHA-256, P-521/SHA-512, Ed448) follows from the key.

The SignedInfo fragment: ISO 15118-2 Annex J.2, RISE-V2G, the Hubject CPS, the ``iso15118`` package
(Josev) and EVerest encode it with the xmldsig schema alone (``"xmldsig"``, the default here); a -20
implementation (OpenChargingCloud WWCP, following the cbexigen codecs) encodes it as a fragment of
the message's own schema. :func:`verify_signature` accepts either and says which one verified.

Verification rejects ([V2G2-771], [V2G2-767] and the suite table in :mod:`v2g.security.algorithms`):
a KeyInfo, an Object or an Id on SignedInfo; a CanonicalizationMethod, SignatureMethod, DigestMethod
or Transform that is not the suite's; more than one Transform; a reference to an element that is
not there, to an element that is not one of those to be signed, a missing or a repeated reference;
a digest that does not match; a SignatureValue of the wrong size or that does not verify. A
Reference without Transforms is accepted (the schema makes them optional and a -20 implementation
omits them); one with a Transform must name canonical-exi.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import v2g
from v2g.errors import V2GError
from v2g.exi import objects
from v2g.security.algorithms import (
    CANONICAL_EXI,
    ED448,
    PublicKey,
    Suite,
    der_to_raw,
    public_key_of,
    suite_for_key,
    verify_raw,
)
from v2g.security.elements import SignedElement, fragment
from v2g.security.errors import SignatureError
from v2g.security.signer import PrivateKey, Signer, as_signer

XMLDSIG = "xmldsig"
GRAMMARS = (XMLDSIG, "protocol")


@dataclass(frozen=True)
class SignatureVerdict:
    """The outcome of :func:`verify_signature`: ``valid``, else ``reason`` and the ``reference``
    (``#Id``, or the element name when it has no Id) that failed, if one did."""

    valid: bool
    reason: str = ""
    reference: str | None = None
    suite: Suite | None = None
    grammar: str = ""  # the SignedInfo grammar that verified: "xmldsig" or the protocol's name

    def __bool__(self) -> bool:
        return self.valid

    def check(self) -> None:
        """Raises :class:`SignatureError` (with the reason and the reference) unless valid."""
        if not self.valid:
            raise SignatureError(self.reason, reference=self.reference)


def _fail(reason: str, reference: str | None = None, suite: Suite | None = None) -> SignatureVerdict:
    return SignatureVerdict(False, reason, reference, suite)


def signed_info_fragment(signed_info: Any, grammar: str = XMLDSIG) -> bytes:
    """The EXI fragment of a SignedInfo object: in the xmldsig grammar (``"xmldsig"``) or in the
    grammar of its own protocol (``"protocol"``)."""
    if grammar == XMLDSIG:
        return v2g.encode(signed_info, fragment=True, protocol=XMLDSIG)
    if grammar == "protocol":
        return v2g.encode(signed_info, fragment=True)
    raise SignatureError(f"unknown SignedInfo grammar {grammar!r}: use one of {GRAMMARS}")


def create_signature(
    elements: Sequence[SignedElement],
    signer: Signer | PrivateKey,
    *,
    signed_info_grammar: str = XMLDSIG,
) -> Any:
    """The Signature (typed object of the elements' protocol, for the message Header) over
    ``elements``, signed by ``signer`` (a :class:`Signer` or a ``cryptography`` private key).

    The suite follows from the signer's public key. The signer's signature is checked against its
    own public key before it is returned (a misconfigured HSM key fails here, not at the EV).
    """
    if not elements:
        raise SignatureError("nothing to sign: give at least one element")
    protocols = {getattr(e.element, "PROTOCOL", "") for e in elements}
    if len(protocols) != 1 or "" in protocols:
        raise SignatureError(
            f"the signed elements must be typed objects of one protocol, not {sorted(protocols)}"
        )
    (protocol,) = protocols
    ids = [e.id for e in elements]
    if len(set(ids)) != len(ids):
        raise SignatureError(f"an Id is referenced twice: {ids}")
    signer = as_signer(signer)
    key = public_key_of(_spki(signer))
    suite = suite_for_key(key)
    mod = objects.messages_module(protocol)
    references = [
        mod.Reference(
            URI=f"#{e.id}",
            Transforms=mod.Transforms(Transform=[mod.Transform(Algorithm=CANONICAL_EXI)]),
            DigestMethod=mod.DigestMethod(Algorithm=suite.digest_method),
            DigestValue=suite.digest(fragment(e)),
        )
        for e in elements
    ]
    signed_info = mod.SignedInfo(
        CanonicalizationMethod=mod.CanonicalizationMethod(Algorithm=CANONICAL_EXI),
        SignatureMethod=mod.SignatureMethod(Algorithm=suite.signature_method),
        Reference=references,
    )
    data = signed_info_fragment(signed_info, signed_info_grammar)
    produced = signer.sign(data)
    raw = produced if suite is ED448 else der_to_raw(produced, suite.signature_size)
    if not verify_raw(key, suite, raw, data):
        raise SignatureError("the signer's signature does not verify with its own public key")
    return mod.Signature(SignedInfo=signed_info, SignatureValue=mod.SignatureValue(value=raw))


def _spki(signer: Signer) -> bytes:
    try:
        return signer.public_key_der()
    except Exception as exc:  # a signer backend (HSM) failing is reported, not crashed on
        raise SignatureError(f"the signer cannot give its public key: {exc}") from exc


def _name(element: SignedElement) -> str:
    return f"#{element.id}" if element.id else element.local_name


def verify_signature(
    signature: Any,
    elements: Sequence[SignedElement],
    public_key: PublicKey | bytes | Any,
    *,
    present: Mapping[str, SignedElement] | None = None,
) -> SignatureVerdict:
    """Whether ``signature`` signs exactly ``elements`` with ``public_key`` (a key, a certificate,
    or their DER), by the rules in the module docstring.

    ``present`` (all Id-carrying elements of the message, :func:`~v2g.security.elements.elements_with_id`)
    lets the verdict tell a reference to an element that is not there from one to an element of the
    message that is not to be signed.
    """
    try:
        key = public_key_of(public_key)
        suite = suite_for_key(key)
    except SignatureError as exc:
        return _fail(exc.reason)
    if signature is None:
        return _fail("the message carries no Signature", suite=suite)
    if signature.KeyInfo is not None:
        return _fail("the Signature carries a KeyInfo, which [V2G2-771] forbids", suite=suite)
    if signature.Object:
        return _fail("the Signature carries an Object, which [V2G2-771] forbids", suite=suite)
    info = signature.SignedInfo
    if info is None:
        return _fail("the Signature has no SignedInfo", suite=suite)
    if info.Id is not None:
        return _fail("SignedInfo carries an Id, which [V2G2-771] forbids", suite=suite)
    algorithm = info.CanonicalizationMethod.Algorithm if info.CanonicalizationMethod else None
    if algorithm != CANONICAL_EXI:
        return _fail(f"CanonicalizationMethod {algorithm!r} is not {CANONICAL_EXI}", suite=suite)
    algorithm = info.SignatureMethod.Algorithm if info.SignatureMethod else None
    if algorithm != suite.signature_method:
        return _fail(
            f"SignatureMethod {algorithm!r} is not {suite.signature_method} ({suite.name} key)", suite=suite
        )
    verdict = _check_references(info.Reference, elements, suite, present or {})
    if verdict is not None:
        return verdict
    raw = signature.SignatureValue.value if signature.SignatureValue is not None else None
    if not raw:
        return _fail("the Signature has no SignatureValue", suite=suite)
    if len(raw) != suite.signature_size:
        return _fail(
            f"SignatureValue has {len(raw)} bytes, {suite.name} has {suite.signature_size}", suite=suite
        )
    for grammar in GRAMMARS:
        try:
            data = signed_info_fragment(info, grammar)
        except V2GError as exc:
            return _fail(f"SignedInfo does not encode: {exc}", suite=suite)
        if verify_raw(key, suite, raw, data):
            name = XMLDSIG if grammar == XMLDSIG else str(getattr(info, "PROTOCOL", ""))
            return SignatureVerdict(True, suite=suite, grammar=name)
    return _fail("SignatureValue does not verify with the signer's key", suite=suite)


def _check_references(
    references: Sequence[Any],
    elements: Sequence[SignedElement],
    suite: Suite,
    present: Mapping[str, SignedElement],
) -> SignatureVerdict | None:
    for e in elements:
        if not e.id:
            return _fail(f"{e.local_name} has no Id, so no reference can point to it", e.local_name, suite)
    expected = {e.id: e for e in elements}
    seen: set[str] = set()
    for ref in references:
        uri = ref.URI or ""
        if not uri.startswith("#") or len(uri) < 2:
            return _fail(f"Reference URI {uri!r} is not a same-document '#Id' reference", uri or None, suite)
        ident = uri[1:]
        if ident in seen:
            return _fail("the element is referenced twice", uri, suite)
        seen.add(ident)
        if ident not in expected:
            other = present.get(ident)
            if other is not None:
                wanted = ", ".join(e.local_name for e in elements)
                return _fail(
                    f"the reference points to {other.local_name}, which is not signed here (expected {wanted})",
                    uri,
                    suite,
                )
            return _fail("the reference points to no element of the message", uri, suite)
        transforms = ref.Transforms.Transform if ref.Transforms is not None else []
        if len(transforms) > 1:
            return _fail(f"{len(transforms)} Transforms; [V2G2-767] allows one", uri, suite)
        for transform in transforms:
            if transform.Algorithm != CANONICAL_EXI or any(
                not (isinstance(c, str) and not c.strip()) for c in transform.content
            ):
                return _fail(f"Transform {transform.Algorithm!r} is not {CANONICAL_EXI}", uri, suite)
        algorithm = ref.DigestMethod.Algorithm if ref.DigestMethod is not None else None
        if algorithm != suite.digest_method:
            return _fail(f"DigestMethod {algorithm!r} is not {suite.digest_method}", uri, suite)
        try:
            digest = suite.digest(fragment(expected[ident]))
        except V2GError as exc:
            return _fail(f"{expected[ident].local_name} does not encode: {exc}", uri, suite)
        if ref.DigestValue != digest:
            return _fail(
                f"the digest of {expected[ident].local_name} does not match its DigestValue", uri, suite
            )
    for e in elements:
        if e.id not in seen:
            return _fail(f"{e.local_name} is not signed: no reference points to it", _name(e), suite)
    return None
