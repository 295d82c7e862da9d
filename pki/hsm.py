"""CA keys in a PKCS#11 token (an HSM, or SoftHSM 2 for tests and small installations).

The key pair is generated inside the token as sensitive and non-extractable; the CA builds the
to-be-signed bytes itself and the token only signs them, so the private key never leaves it.

Mechanisms: SoftHSM 2.6.1 has no CKM_ECDSA_SHA256/SHA512, so ECDSA hashes in software (SHA-256 for
P-256, SHA-512 for P-521, as the profiles require), signs the digest with CKM_ECDSA and DER-encodes
the returned r||s as an X.509 ECDSA-Sig-Value. Ed448 keys are CKK_EC_EDWARDS signed with CKM_EDDSA
(PureEdDSA over the whole message, RFC 8410).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from pki.algorithms import Algorithm
from pki.errors import KeyStoreError

PIN_ENV = "PNC_HSM_PIN"
DEFAULT_MODULE = "/usr/lib/softhsm/libsofthsm2.so"

# ANSI X9.62 / RFC 8410 named-curve OIDs for CKA_EC_PARAMS
_CURVE_OID = {
    Algorithm.P256: "1.2.840.10045.3.1.7",  # secp256r1
    Algorithm.P521: "1.3.132.0.35",  # secp521r1
    Algorithm.ED448: "1.3.101.113",  # id-Ed448
}


@dataclass(frozen=True)
class HsmSettings:
    """Where a home's CA keys live: the PKCS#11 module, the token label and where its PIN comes from."""

    module: str
    token_label: str
    pin_file: Path | None = None

    def pin(self) -> str:
        """The user PIN: from ``pin_file`` when set, else ``$PNC_HSM_PIN``."""
        return resolve_pin(self.pin_file)


def resolve_pin(pin_file: Path | None) -> str:
    """The token's user PIN from a file (first line) or ``$PNC_HSM_PIN``."""
    if pin_file is not None:
        try:
            lines = pin_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise KeyStoreError(f"{pin_file}: cannot read HSM PIN file: {exc.strerror}") from None
        pin = lines[0].strip() if lines else ""
        if not pin:
            raise KeyStoreError(f"{pin_file}: HSM PIN file is empty")
        return pin
    pin = os.environ.get(PIN_ENV, "")
    if not pin:
        raise KeyStoreError(f"no HSM PIN: give --hsm-pin-file or set {PIN_ENV}")
    return pin


def _pkcs11() -> Any:
    try:
        import pkcs11
    except ImportError:
        raise KeyStoreError(
            "PKCS#11 support is not installed: install pnc with the 'hsm' extra (python-pkcs11)"
        ) from None
    return pkcs11


_libs: dict[str, Any] = {}
_tokens: dict[tuple[str, str], Token] = {}
_registry_lock = threading.Lock()


def _load_lib(module: str) -> Any:
    pkcs11 = _pkcs11()
    lib = _libs.get(module)
    if lib is None:
        if not Path(module).is_file():
            raise KeyStoreError(f"{module}: PKCS#11 module not found")
        try:
            lib = pkcs11.lib(module)
        except pkcs11.PKCS11Error as exc:
            raise KeyStoreError(f"{module}: cannot load PKCS#11 module: {_describe(exc)}") from None
        _libs[module] = lib
    return lib


def _describe(exc: BaseException) -> str:
    return type(exc).__name__ + (f" ({exc})" if str(exc) else "")


class Token:
    """A logged-in session with one token, shared by every signer on it (PKCS#11 logs in per
    application, not per session); calls are serialised because a session is not thread-safe."""

    def __init__(self, module: str, label: str, session: Any) -> None:
        self.module = module
        self.label = label
        self._session = session
        self.lock = threading.Lock()

    @classmethod
    def open(cls, module: str, label: str, pin: str) -> Token:
        """Open (or reuse) a read-write user session on the token labelled ``label``."""
        pkcs11 = _pkcs11()
        with _registry_lock:
            cached = _tokens.get((module, label))
            if cached is not None:
                return cached
            lib = _load_lib(module)
            try:
                token = lib.get_token(token_label=label)
            except pkcs11.NoSuchToken:
                raise KeyStoreError(f"no PKCS#11 token labelled {label!r} in {module}") from None
            except pkcs11.PKCS11Error as exc:
                raise KeyStoreError(f"token {label!r}: {_describe(exc)}") from None
            try:
                session = token.open(user_pin=pin, rw=True)
            except pkcs11.PinIncorrect:
                raise KeyStoreError(f"token {label!r}: wrong PIN") from None
            except pkcs11.PKCS11Error as exc:
                raise KeyStoreError(f"token {label!r}: cannot log in: {_describe(exc)}") from None
            opened = cls(module, label, session)
            _tokens[(module, label)] = opened
            return opened

    @classmethod
    def from_settings(cls, settings: HsmSettings) -> Token:
        return cls.open(settings.module, settings.token_label, settings.pin())

    def _private_key(self, key_label: str) -> Any:
        pkcs11 = _pkcs11()
        try:
            return self._session.get_key(object_class=pkcs11.ObjectClass.PRIVATE_KEY, label=key_label)
        except pkcs11.NoSuchKey:
            return None
        except pkcs11.MultipleObjectsReturned:
            raise KeyStoreError(
                f"token {self.label!r}: several private keys are labelled {key_label!r}"
            ) from None

    def has_key(self, key_label: str) -> bool:
        with self.lock:
            return self._private_key(key_label) is not None

    def generate(self, key_label: str, algorithm: Algorithm) -> Pkcs11Signer:
        """Generate a key pair in the token (sensitive, never extractable) and return its signer."""
        pkcs11 = _pkcs11()
        from pkcs11.util.ec import encode_named_curve_parameters

        attr = pkcs11.Attribute
        key_type = pkcs11.KeyType.EC_EDWARDS if algorithm is Algorithm.ED448 else pkcs11.KeyType.EC
        mechanism = (
            pkcs11.Mechanism.EC_EDWARDS_KEY_PAIR_GEN
            if algorithm is Algorithm.ED448
            else pkcs11.Mechanism.EC_KEY_PAIR_GEN
        )
        with self.lock:
            if self._private_key(key_label) is not None:
                raise KeyStoreError(
                    f"token {self.label!r} already holds a key labelled {key_label!r}; refusing to replace it"
                )
            try:
                params = self._session.create_domain_parameters(
                    key_type,
                    {attr.EC_PARAMS: encode_named_curve_parameters(_CURVE_OID[algorithm])},
                    local=True,
                )
                params.generate_keypair(
                    store=True,
                    label=key_label,
                    id=key_label.encode(),
                    mechanism=mechanism,
                    public_template={attr.VERIFY: True},
                    private_template={
                        attr.SIGN: True,
                        attr.SENSITIVE: True,
                        attr.EXTRACTABLE: False,
                        attr.PRIVATE: True,
                        attr.TOKEN: True,
                    },
                )
            except pkcs11.PKCS11Error as exc:
                raise KeyStoreError(
                    f"token {self.label!r}: cannot generate {algorithm.value} key {key_label!r}: {_describe(exc)}"
                ) from None
        return self.signer(key_label)

    def signer(self, key_label: str) -> Pkcs11Signer:
        """The signer over the key pair labelled ``key_label``."""
        pkcs11 = _pkcs11()
        with self.lock:
            private = self._private_key(key_label)
            if private is None:
                raise KeyStoreError(f"token {self.label!r} holds no private key labelled {key_label!r}")
            try:
                public = self._session.get_key(object_class=pkcs11.ObjectClass.PUBLIC_KEY, label=key_label)
            except pkcs11.PKCS11Error as exc:
                raise KeyStoreError(
                    f"token {self.label!r}: no public key labelled {key_label!r}: {_describe(exc)}"
                ) from None
            spki, algorithm = _public_key_info(public)
        return Pkcs11Signer(self, key_label, private, spki, algorithm)

    def sign_raw(self, private: Any, data: bytes, mechanism: Any) -> bytes:
        pkcs11 = _pkcs11()
        with self.lock:
            try:
                return bytes(private.sign(data, mechanism=mechanism))
            except pkcs11.PKCS11Error as exc:
                raise KeyStoreError(f"token {self.label!r}: signing failed: {_describe(exc)}") from None


def _public_key_info(public: Any) -> tuple[bytes, Algorithm]:
    """SubjectPublicKeyInfo DER and algorithm of a token public key object."""
    pkcs11 = _pkcs11()
    from asn1crypto.core import OctetString
    from pkcs11.util.ec import encode_ec_public_key

    attr = pkcs11.Attribute
    params = bytes(public[attr.EC_PARAMS])
    if public.key_type == pkcs11.KeyType.EC_EDWARDS:
        point = bytes(OctetString.load(bytes(public[attr.EC_POINT])).native)
        spki = ed448.Ed448PublicKey.from_public_bytes(point).public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return spki, Algorithm.ED448
    if not params.startswith(b"\x06"):  # an OBJECT IDENTIFIER: a named curve (RFC 5480)
        raise KeyStoreError("token public key has explicit EC parameters; a named curve is required")
    spki = bytes(encode_ec_public_key(public))
    key = serialization.load_der_public_key(spki)
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise KeyStoreError(f"token public key is a {type(key).__name__}, not an EC key")
    return spki, Algorithm.of_key(key)


class Pkcs11Signer:
    """A :class:`pki.signer.Signer` whose private key stays in a PKCS#11 token."""

    def __init__(self, token: Token, key_label: str, private: Any, spki: bytes, algorithm: Algorithm) -> None:
        self._token = token
        self.key_label = key_label
        self._private = private
        self._spki = spki
        self._algorithm = algorithm

    @property
    def algorithm(self) -> Algorithm:
        return self._algorithm

    def public_key_der(self) -> bytes:
        return self._spki

    def sign(self, data: bytes) -> bytes:
        pkcs11 = _pkcs11()
        if self._algorithm is Algorithm.ED448:
            return self._token.sign_raw(self._private, data, pkcs11.Mechanism.EDDSA)
        digest_algorithm = self._algorithm.hash
        assert digest_algorithm is not None
        digest = hashes.Hash(digest_algorithm)
        digest.update(data)
        raw = self._token.sign_raw(self._private, digest.finalize(), pkcs11.Mechanism.ECDSA)
        half = len(raw) // 2
        return encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))

    def is_extractable(self) -> bool:
        """Whether the token would let the private key out (never for keys made by :meth:`Token.generate`)."""
        attr = _pkcs11().Attribute
        with self._token.lock:
            return bool(self._private[attr.EXTRACTABLE]) or not bool(self._private[attr.SENSITIVE])

    def __repr__(self) -> str:
        return f"Pkcs11Signer({self._token.label!r}, {self.key_label!r}, {self._algorithm.value})"
