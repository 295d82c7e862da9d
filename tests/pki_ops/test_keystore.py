"""Encrypted CA key files: round trip, file mode, wrong passphrase, interop with openssl."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from pki.algorithms import Algorithm
from pki.errors import KeyStoreError
from pki.keystore import (
    load_signer,
    read_passphrase_file,
    unencrypted_pkcs8,
    write_encrypted_key,
)
from pki.signer import SoftwareSigner


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_encrypted_key_round_trips_and_signs(tmp_path: Path, algorithm: Algorithm) -> None:
    key = algorithm.generate()
    path = tmp_path / "ca.key.pem"
    write_encrypted_key(path, key, b"correct horse")
    signer = load_signer(path, b"correct horse")
    assert signer.algorithm is algorithm
    assert signer.public_key_der() == load_signer(path, b"correct horse").public_key_der()
    assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    assert unencrypted_pkcs8(key) not in path.read_bytes()


def test_key_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "ca.key.pem"
    write_encrypted_key(path, Algorithm.P256.generate(), b"pw")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_wrong_passphrase_is_a_keystore_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ca.key.pem"
    write_encrypted_key(path, Algorithm.P256.generate(), b"right")
    with pytest.raises(KeyStoreError, match=r"ca\.key\.pem: wrong passphrase"):
        load_signer(path, b"wrong")


def test_existing_key_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "ca.key.pem"
    write_encrypted_key(path, Algorithm.P256.generate(), b"pw")
    before = path.read_bytes()
    with pytest.raises(KeyStoreError, match="refusing to overwrite"):
        write_encrypted_key(path, Algorithm.P256.generate(), b"pw")
    assert path.read_bytes() == before


def test_unencrypted_key_file_is_refused_as_a_ca_key(tmp_path: Path) -> None:
    path = tmp_path / "plain.pem"
    path.write_bytes(unencrypted_pkcs8(Algorithm.P256.generate()))
    with pytest.raises(KeyStoreError, match="not an encrypted PKCS#8 key"):
        load_signer(path, b"pw")


def test_missing_key_file_is_a_keystore_error(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError, match="key file not found"):
        load_signer(tmp_path / "absent.pem", b"pw")


def test_passphrase_file_first_line_without_newline(tmp_path: Path) -> None:
    f = tmp_path / "pass"
    f.write_bytes(b"s3cret\nignored\n")
    assert read_passphrase_file(f) == b"s3cret"
    f.write_bytes(b"\n")
    with pytest.raises(KeyStoreError, match="empty"):
        read_passphrase_file(f)


def test_openssl_decrypts_our_key_file_and_verifies_our_signature(tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    path = tmp_path / "ca.key.pem"
    write_encrypted_key(path, Algorithm.P256.generate(), b"pass phrase")
    pub = subprocess.run(
        ["openssl", "pkey", "-in", str(path), "-passin", "pass:pass phrase", "-pubout"],
        check=True,
        capture_output=True,
    ).stdout
    (tmp_path / "pub.pem").write_bytes(pub)
    (tmp_path / "data").write_bytes(b"to be signed")

    def openssl_verifies(signature: bytes) -> bool:
        (tmp_path / "sig").write_bytes(signature)
        verify = [
            "openssl",
            "dgst",
            "-sha256",
            "-verify",
            tmp_path / "pub.pem",
            "-signature",
            tmp_path / "sig",
        ]
        return subprocess.run([*verify, tmp_path / "data"], capture_output=True, check=False).returncode == 0

    assert openssl_verifies(load_signer(path, b"pass phrase").sign(b"to be signed"))
    # and a signature by another key does not verify: the check above is not vacuous
    other = ec.generate_private_key(ec.SECP256R1())
    assert not openssl_verifies(other.sign(b"to be signed", ec.ECDSA(hashes.SHA256())))


def test_key_file_uses_pbes2_pbkdf2_sha256_with_many_rounds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from asn1crypto import keys as akeys
    from asn1crypto import pem

    import pki.keystore

    monkeypatch.setattr(pki.keystore, "KDF_ITERATIONS", pki.keystore.DEFAULT_KDF_ITERATIONS)
    path = tmp_path / "ca.key.pem"
    key = Algorithm.P256.generate()
    write_encrypted_key(path, key, b"pw")
    assert load_signer(path, b"pw").public_key_der() == SoftwareSigner(key).public_key_der()
    _, _, der = pem.unarmor(path.read_bytes())
    algorithm = akeys.EncryptedPrivateKeyInfo.load(der)["encryption_algorithm"]
    kdf = algorithm["parameters"]["key_derivation_func"]
    assert algorithm["algorithm"].native == "pbes2" and kdf["algorithm"].native == "pbkdf2"
    assert kdf["parameters"]["iteration_count"].native == pki.keystore.DEFAULT_KDF_ITERATIONS >= 600_000
    assert kdf["parameters"]["prf"]["algorithm"].native == "sha256"
    assert algorithm["parameters"]["encryption_scheme"]["algorithm"].native == "aes256_cbc"
