"""CA keys at rest: PKCS#8 files encrypted with a passphrase, readable only by their owner.

The encryption is PKCS#8 PBES2 (RFC 8018) with PBKDF2-HMAC-SHA256 at 600,000 rounds and AES-256-CBC,
written here (``cryptography`` offers only 2,048 rounds for PKCS#8) and read by ``cryptography`` and
``openssl pkey`` alike. Key material is never logged, printed or put into
an error message; a wrong passphrase is a :class:`~pki.errors.KeyStoreError` naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path

from asn1crypto import algos, core, pem
from asn1crypto import keys as akeys
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from pki.algorithms import PrivateKey
from pki.errors import KeyStoreError
from pki.signer import SoftwareSigner

PASSPHRASE_ENV = "PNC_CA_PASSPHRASE"  # noqa: S105 (the variable's name, not a secret)
KEY_FILE_MODE = 0o600
# PBKDF2-HMAC-SHA256 rounds protecting a key file: OWASP's 2023 figure for this PRF (about 70 ms per
# key on a laptop core). cryptography's BestAvailableEncryption uses 2,048, too few for CA keys.
DEFAULT_KDF_ITERATIONS = 600_000
KDF_ITERATIONS = DEFAULT_KDF_ITERATIONS


def encrypted_pkcs8(key: PrivateKey, passphrase: bytes, *, iterations: int | None = None) -> bytes:
    """The key as PEM ``ENCRYPTED PRIVATE KEY`` under ``passphrase`` (RFC 8018 PBES2:
    PBKDF2-HMAC-SHA256 with :data:`KDF_ITERATIONS` and a 16-byte salt, AES-256-CBC)."""
    if not passphrase:
        raise KeyStoreError("an empty passphrase cannot protect a key")
    rounds = iterations or KDF_ITERATIONS
    info = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    salt, iv = os.urandom(16), os.urandom(16)
    kek = PBKDF2HMAC(hashes.SHA256(), 32, salt, rounds).derive(passphrase)
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(kek), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padder.update(info) + padder.finalize()) + encryptor.finalize()
    encrypted = akeys.EncryptedPrivateKeyInfo(
        {
            "encryption_algorithm": {
                "algorithm": "pbes2",
                "parameters": {
                    "key_derivation_func": {
                        "algorithm": "pbkdf2",
                        "parameters": {
                            "salt": algos.Pbkdf2Salt(name="specified", value=salt),
                            "iteration_count": rounds,
                            "prf": {"algorithm": "sha256", "parameters": core.Null()},
                        },
                    },
                    "encryption_scheme": {"algorithm": "aes256_cbc", "parameters": iv},
                },
            },
            "encrypted_data": ciphertext,
        }
    )
    return bytes(pem.armor("ENCRYPTED PRIVATE KEY", encrypted.dump()))


def unencrypted_pkcs8(key: PrivateKey) -> bytes:
    """The key as PEM ``PRIVATE KEY`` in the clear (only behind the CLI's ``--insecure``)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def write_private_file(path: Path, data: bytes, *, overwrite: bool = False) -> None:
    """Write ``data`` to a new file that only its owner can read (0600 from the first byte on)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(path, flags, KEY_FILE_MODE)
    except FileExistsError:
        raise KeyStoreError(f"{path}: already exists; refusing to overwrite a key file") from None
    except OSError as exc:
        raise KeyStoreError(f"{path}: cannot create key file: {exc.strerror}") from None
    try:
        os.fchmod(fd, KEY_FILE_MODE)  # the umask or an existing file may have left other bits
        with os.fdopen(fd, "wb") as out:
            fd = -1
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    finally:
        if fd >= 0:
            os.close(fd)


def write_encrypted_key(path: Path, key: PrivateKey, passphrase: bytes, *, overwrite: bool = False) -> None:
    """Store ``key`` as encrypted PKCS#8 PEM at ``path`` with mode 0600."""
    write_private_file(path, encrypted_pkcs8(key, passphrase), overwrite=overwrite)


def load_private_key(path: Path, passphrase: bytes) -> PrivateKey:
    """Read and decrypt a key written by :func:`write_encrypted_key`."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise KeyStoreError(f"{path}: key file not found") from None
    except OSError as exc:
        raise KeyStoreError(f"{path}: cannot read key file: {exc.strerror}") from None
    if b"ENCRYPTED PRIVATE KEY" not in data:
        raise KeyStoreError(f"{path}: not an encrypted PKCS#8 key; CA keys must be encrypted at rest")
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except ValueError:
        # cryptography says "Bad decrypt. Incorrect password?" for both a wrong passphrase and a
        # damaged file; the passphrase is by far the likelier cause.
        raise KeyStoreError(f"{path}: wrong passphrase (or a damaged key file)") from None
    except TypeError:
        raise KeyStoreError(f"{path}: a passphrase is needed to decrypt this key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | ed448.Ed448PrivateKey):
        raise KeyStoreError(f"{path}: holds a {type(key).__name__}, not a V2G PKI key")
    return key


def load_signer(path: Path, passphrase: bytes) -> SoftwareSigner:
    """A signer over the encrypted key at ``path``."""
    return SoftwareSigner(load_private_key(path, passphrase))


def read_passphrase_file(path: Path) -> bytes:
    """A passphrase from the first line of a file (the trailing newline is not part of it)."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise KeyStoreError(f"{path}: cannot read passphrase file: {exc.strerror}") from None
    passphrase = text.splitlines()[0] if text.strip() else b""
    if not passphrase:
        raise KeyStoreError(f"{path}: passphrase file is empty")
    return passphrase


def passphrase_from_environment(env: str = PASSPHRASE_ENV) -> bytes | None:
    """The passphrase in ``$PNC_CA_PASSPHRASE``, or None when it is unset or empty."""
    value = os.environ.get(env)
    return value.encode() if value else None
