"""v2g.security signatures: every suite signs and verifies, and every rule of verification rejects
what it must, naming the reference that failed ([V2G2-771], [V2G2-767], the suite table)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448
from security_pki import new_key

import v2g
from v2g import security as sec
from v2g.messages import iso2
from v2g.security.errors import MessageError, SignatureError

CHALLENGE = bytes(range(16))


def authorization(key: Any, **options: Any) -> iso2.V2G_Message:
    """A signed ISO 15118-2 AuthorizationReq (plus a second Id-carrying element, for wrong-element cases)."""
    request = iso2.AuthorizationReq(Id="ID1", GenChallenge=CHALLENGE)
    message = iso2.V2G_Message(
        Header=iso2.MessageHeaderType(SessionID=b"\x01" * 8), Body=iso2.BodyType(AuthorizationReq=request)
    )
    assert message.Header is not None
    message.Header.Signature = sec.create_signature([sec.signed(request)], key, **options)
    return message


def verdict(message: Any, key: Any) -> sec.SignatureVerdict:
    element = sec.signed(message.Body.AuthorizationReq)
    return sec.verify_signature(
        message.Header.Signature, [element], key, present=sec.elements_with_id(message)
    )


@pytest.mark.parametrize("kind", ["p256", "p521", "ed448"])
@pytest.mark.parametrize("grammar", ["xmldsig", "protocol"])
def test_every_suite_signs_and_verifies_after_an_exi_round_trip(kind: str, grammar: str) -> None:
    key = new_key(kind)
    message = v2g.decode(v2g.encode(authorization(key, signed_info_grammar=grammar)), "iso2")
    result = verdict(message, key.public_key())
    assert result.valid and result.grammar == ("xmldsig" if grammar == "xmldsig" else "iso2")
    suite = {"p256": sec.P256_SHA256, "p521": sec.P521_SHA512, "ed448": sec.ED448}[kind]
    assert result.suite is suite
    info = message.Header.Signature.SignedInfo
    assert info.SignatureMethod.Algorithm == suite.signature_method
    assert info.Reference[0].DigestMethod.Algorithm == suite.digest_method
    assert len(message.Header.Signature.SignatureValue.value) == suite.signature_size


class HsmLikeSigner:
    """The shape of pki.signer.Signer: public_key_der() and sign(data) -> DER; the key stays inside."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, claimed: Any = None) -> None:
        self._key = key
        self._claimed = claimed or key.public_key()
        self.signed: list[bytes] = []

    def public_key_der(self) -> bytes:
        return self._claimed.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, data: bytes) -> bytes:
        self.signed.append(data)
        digest = sec.suite_for_key(self._key).hash
        assert digest is not None
        return self._key.sign(data, ec.ECDSA(digest))


def test_a_signer_that_only_signs_bytes_signs_the_signed_info_fragment() -> None:
    key = ec.generate_private_key(ec.SECP521R1())
    signer = HsmLikeSigner(key)
    assert isinstance(signer, sec.Signer)
    message = authorization(signer)
    assert verdict(message, key.public_key()).valid
    assert signer.signed == [sec.signed_info_fragment(message.Header.Signature.SignedInfo)]  # type: ignore[union-attr]


def test_a_signer_whose_key_is_not_the_one_it_claims_is_refused() -> None:
    signer = HsmLikeSigner(
        ec.generate_private_key(ec.SECP256R1()), claimed=ec.generate_private_key(ec.SECP256R1()).public_key()
    )
    with pytest.raises(SignatureError, match="does not verify with its own public key"):
        authorization(signer)


def test_what_cannot_sign_is_refused() -> None:
    with pytest.raises(SignatureError, match="cannot sign with a str"):
        authorization("not a key")
    with pytest.raises(SignatureError, match="no ISO 15118 signature suite for curve secp384r1"):
        authorization(ec.generate_private_key(ec.SECP384R1()))
    with pytest.raises(SignatureError, match="nothing to sign"):
        sec.create_signature([], new_key("p256"))
    request = iso2.AuthorizationReq(Id="ID1", GenChallenge=CHALLENGE)
    with pytest.raises(SignatureError, match="referenced twice"):
        sec.create_signature([sec.signed(request), sec.signed(request)], new_key("p256"))
    with pytest.raises(MessageError, match="needs an Id"):
        sec.signed(iso2.AuthorizationReq(GenChallenge=CHALLENGE))


KEY = ec.generate_private_key(ec.SECP256R1())


def _set(path: str, value: Any) -> Callable[[Any], None]:
    def change(signature: Any) -> None:
        *parents, last = path.split(".")
        target = signature
        for name in parents:
            target = getattr(target, name) if not name.isdigit() else target[int(name)]
        setattr(target, last, value)

    return change


def _second_reference(signature: Any) -> None:
    extra = copy.deepcopy(signature.SignedInfo.Reference[0])
    extra.URI = "#ID2"
    signature.SignedInfo.Reference.append(extra)


def _duplicate_reference(signature: Any) -> None:
    signature.SignedInfo.Reference.append(copy.deepcopy(signature.SignedInfo.Reference[0]))


def _two_transforms(signature: Any) -> None:
    transforms = signature.SignedInfo.Reference[0].Transforms.Transform
    transforms.append(copy.deepcopy(transforms[0]))


REJECTIONS: list[tuple[str, Callable[[Any], None], str, str | None]] = [
    ("key info", _set("KeyInfo", iso2.KeyInfo(Id="k")), "KeyInfo, which \\[V2G2-771\\] forbids", None),
    ("object", _set("Object", [iso2.Object(Id="o")]), "Object, which \\[V2G2-771\\] forbids", None),
    ("signed info id", _set("SignedInfo.Id", "si"), "SignedInfo carries an Id", None),
    (
        "c14n",
        _set("SignedInfo.CanonicalizationMethod.Algorithm", "http://www.w3.org/2001/10/xml-exc-c14n#"),
        "CanonicalizationMethod",
        None,
    ),
    (
        "signature method",
        _set("SignedInfo.SignatureMethod.Algorithm", sec.ECDSA_SHA512),
        "SignatureMethod .* is not .*ecdsa-sha256",
        None,
    ),
    (
        "rsa",
        _set("SignedInfo.SignatureMethod.Algorithm", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"),
        "SignatureMethod",
        None,
    ),
    (
        "digest method",
        _set("SignedInfo.Reference.0.DigestMethod.Algorithm", sec.DIGEST_SHA512),
        "DigestMethod",
        "#ID1",
    ),
    (
        "sha1",
        _set("SignedInfo.Reference.0.DigestMethod.Algorithm", "http://www.w3.org/2000/09/xmldsig#sha1"),
        "DigestMethod",
        "#ID1",
    ),
    (
        "transform",
        _set(
            "SignedInfo.Reference.0.Transforms.Transform.0.Algorithm",
            "http://www.w3.org/2001/10/xml-exc-c14n#",
        ),
        "Transform .* is not",
        "#ID1",
    ),
    ("two transforms", _two_transforms, "2 Transforms; \\[V2G2-767\\] allows one", "#ID1"),
    ("extra reference", _second_reference, "points to no element of the message", "#ID2"),
    ("duplicate reference", _duplicate_reference, "referenced twice", "#ID1"),
    ("missing reference", _set("SignedInfo.Reference", []), "AuthorizationReq is not signed", "#ID1"),
    (
        "not same-document",
        _set("SignedInfo.Reference.0.URI", "http://example.com/#ID1"),
        "not a same-document",
        "http://example.com/#ID1",
    ),
    (
        "digest value",
        _set("SignedInfo.Reference.0.DigestValue", bytes(32)),
        "digest of AuthorizationReq does not match",
        "#ID1",
    ),
    ("short signature", _set("SignatureValue.value", bytes(63)), "SignatureValue has 63 bytes", None),
    ("wrong signature", _set("SignatureValue.value", bytes(64)), "does not verify", None),
    ("no signature value", _set("SignatureValue", None), "no SignatureValue", None),
    ("no signed info", _set("SignedInfo", None), "no SignedInfo", None),
]


@pytest.mark.parametrize(
    ("case", "change", "reason", "reference"), REJECTIONS, ids=[r[0] for r in REJECTIONS]
)
def test_verification_rejects(
    case: str, change: Callable[[Any], None], reason: str, reference: str | None
) -> None:
    message = authorization(KEY)
    change(message.Header.Signature)  # type: ignore[union-attr]
    result = verdict(message, KEY.public_key())
    assert not result.valid
    assert result.reference == reference
    with pytest.raises(SignatureError, match=reason) as caught:
        result.check()
    assert caught.value.reference == reference


def test_a_signature_over_another_element_of_the_message_is_refused() -> None:
    """The EV signs its MeteringReceiptReq; a charger checking an AuthorizationReq must not accept it."""
    receipt = iso2.MeteringReceiptReq(
        Id="ID7", SessionID=b"\x01" * 8, MeterInfo=iso2.MeterInfoType(MeterID="M1", MeterReading=5)
    )
    request = iso2.AuthorizationReq(Id="ID1", GenChallenge=CHALLENGE)
    signature = sec.create_signature([sec.signed(receipt)], KEY)
    present = {e.id: e for e in (sec.signed(receipt), sec.signed(request))}
    result = sec.verify_signature(signature, [sec.signed(request)], KEY.public_key(), present=present)
    assert not result.valid and result.reference == "#ID7"
    assert (
        "points to MeteringReceiptReq, which is not signed here (expected AuthorizationReq)" in result.reason
    )


def test_the_key_decides_the_suite_and_a_key_of_another_suite_does_not_verify() -> None:
    message = authorization(KEY)
    assert not verdict(message, ec.generate_private_key(ec.SECP256R1()).public_key()).valid
    other = verdict(message, ec.generate_private_key(ec.SECP521R1()).public_key())
    assert not other.valid and "SignatureMethod" in other.reason
    ed = verdict(message, ed448.Ed448PrivateKey.generate().public_key())
    assert not ed.valid and "eddsa-ed448" in ed.reason
    assert not verdict(message, b"not a certificate").valid
    assert not sec.verify_signature(None, [sec.signed(message.Body.AuthorizationReq)], KEY.public_key()).valid  # type: ignore[union-attr]
