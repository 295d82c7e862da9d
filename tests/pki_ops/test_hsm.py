"""PKCS#11 signer against SoftHSM 2: keys generated in the token, never extractable, signatures
that cryptography verifies."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448

from pki.algorithms import Algorithm
from pki.errors import KeyStoreError
from pki.hsm import Token

pytestmark = pytest.mark.hsm


def _label() -> str:
    return "k-" + secrets.token_hex(4)


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_token_key_signs_what_cryptography_verifies(softhsm: Any, algorithm: Algorithm) -> None:
    token = Token.open(softhsm.module, softhsm.label, softhsm.pin)
    signer = token.generate(_label(), algorithm)
    assert signer.algorithm is algorithm
    public = serialization.load_der_public_key(signer.public_key_der())
    data = b"tbsCertificate bytes " + secrets.token_bytes(32)
    signature = signer.sign(data)
    if algorithm is Algorithm.ED448:
        assert isinstance(public, ed448.Ed448PublicKey)
        assert len(signature) == 114
        public.verify(signature, data)
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        digest = hashes.SHA256() if algorithm is Algorithm.P256 else hashes.SHA512()
        public.verify(signature, data, ec.ECDSA(digest))  # DER ECDSA-Sig-Value
        with pytest.raises(InvalidSignature):
            public.verify(signature, data + b"x", ec.ECDSA(digest))


def test_token_key_is_sensitive_and_not_extractable(softhsm: Any) -> None:
    import pkcs11

    token = Token.open(softhsm.module, softhsm.label, softhsm.pin)
    signer = token.generate(_label(), Algorithm.P256)
    assert signer.is_extractable() is False
    with pytest.raises(pkcs11.AttributeSensitive):
        signer._private[pkcs11.Attribute.VALUE]


def test_reopened_signer_has_the_same_public_key(softhsm: Any) -> None:
    token = Token.open(softhsm.module, softhsm.label, softhsm.pin)
    label = _label()
    first = token.generate(label, Algorithm.P521)
    again = token.signer(label)
    assert again.public_key_der() == first.public_key_der()
    assert again.algorithm is Algorithm.P521


def test_second_key_with_the_same_label_is_refused(softhsm: Any) -> None:
    token = Token.open(softhsm.module, softhsm.label, softhsm.pin)
    label = _label()
    token.generate(label, Algorithm.P256)
    with pytest.raises(KeyStoreError, match="already holds a key"):
        token.generate(label, Algorithm.P256)


def test_unknown_key_label_is_a_keystore_error(softhsm: Any) -> None:
    token = Token.open(softhsm.module, softhsm.label, softhsm.pin)
    with pytest.raises(KeyStoreError, match="no private key labelled"):
        token.signer("absent-" + secrets.token_hex(4))


def test_unknown_token_and_missing_module_are_keystore_errors(softhsm: Any) -> None:
    with pytest.raises(KeyStoreError, match="no PKCS#11 token labelled"):
        Token.open(softhsm.module, "no-such-token", softhsm.pin)
    with pytest.raises(KeyStoreError, match="PKCS#11 module not found"):
        Token.open("/nonexistent/libpkcs11.so", "x", "1")
