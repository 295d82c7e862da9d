"""``pnc pki`` end to end: the ceremony, issuance for every leaf role, what openssl and pkilint say
about the files the CLI writes, listing, roots, revocation, and refusals that change nothing."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from ops_helpers import PASSPHRASE, Pnc, make_pnc, pki_tools

from pki.profiles import Role

IDENTIFIERS = {
    "contract": ("--emaid", "DE-8AA-CA2B3C4D5-L", Role.CONTRACT),
    "secc": ("--secc-id", "DE-ICE-S-00003C4D557878675645330967543476-2", Role.SECC),
    "oem-prov": ("--pcid", "WMIV1234567890ABC", Role.OEM_PROV),
    "charging-station": ("--station-id", "CS-BERLIN-0001", Role.CHARGING_STATION),
}
ROOT_OF = {"contract": "mo-root", "secc": "v2g-root", "oem-prov": "oem-root", "charging-station": "cso-root"}


def _state(pnc: Pnc) -> tuple[dict[str, int], int]:
    with pnc.store() as store:
        return store.row_counts(), len(store.audit_entries())


def _refused(pnc: Pnc, *args: str | Path, match: str, env: dict[str, str] | None = None) -> None:
    """The command fails with one error line naming the problem, and the store is unchanged."""
    before = _state(pnc)
    result = pnc(*args, ok=False, env=env)
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert match in lines[0], lines[0]
    assert _state(pnc) == before


def _split_pem(path: Path) -> list[bytes]:
    return [
        c.public_bytes(serialization.Encoding.DER) for c in x509.load_pem_x509_certificates(path.read_bytes())
    ]


def test_init_creates_every_ca_responder_and_the_cps_leaf_with_encrypted_keys(pnc: Pnc) -> None:
    with pnc.store() as store:
        cas = store.cas("iso15118-2")
    roles = sorted(ca.role for ca in cas)
    assert roles.count("ocsp-responder") == 12
    assert set(roles) == {
        "v2g-root", "cpo-sub1", "cpo-sub2", "cps-sub1", "cps-sub2", "cps-leaf", "mo-root", "mo-sub1",
        "mo-sub2", "oem-root", "oem-sub1", "oem-sub2", "cso-root", "ocsp-responder",
    }  # fmt: skip
    keys = sorted((pnc.home / "keys" / "iso15118-2").iterdir())
    assert len(keys) == 25
    for key in keys:
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert key.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE((pnc.home / "keys").stat().st_mode) == 0o700


def test_init_audits_every_key_and_certificate_with_the_actor(pnc: Pnc) -> None:
    with pnc.store() as store:
        entries = store.audit_entries()
    actions = [e.action for e in entries]
    assert actions.count("create-key") == 50 and actions.count("issue") == 50 and actions.count("init") == 2
    assert {e.actor for e in entries} == {"test-operator"}


@pytest.mark.parametrize("kind", sorted(IDENTIFIERS))
@pytest.mark.parametrize("variant", ["iso15118-2", "iso15118-20", "iso15118-20-ed448"])
def test_issued_chain_verifies_with_openssl_and_passes_pkilint(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str, variant: str
) -> None:
    if variant.endswith("ed448"):
        home = tmp_path / "home"
        shutil.copytree(request.getfixturevalue("ca_template_ed448"), home)
        pnc = make_pnc(home)
    else:
        pnc = request.getfixturevalue("pnc")
    profile = variant.removesuffix("-ed448")
    flag, identifier, role = IDENTIFIERS[kind]
    out = tmp_path / "chain.pem"
    result = pnc("pki", "issue", kind, flag, identifier, "--profile", profile, "--out", out)
    chain = _split_pem(out)
    leaf = x509.load_der_x509_certificate(chain[0])
    assert result.stdout.splitlines()[0] == f"serial  {format(leaf.serial_number, 'x')}"
    pnc("pki", "roots", "--profile", profile, "--out-dir", tmp_path / "roots")
    root = tmp_path / "roots" / f"{ROOT_OF[kind]}.pem"
    verify = pki_tools.openssl("verify", "-x509_strict", "-CAfile", root, "-untrusted", out, out)
    assert verify.stdout.strip() == f"{out}: OK"
    if profile == "iso15118-2":
        assert all(len(der) <= 800 for der in chain)
    for index, der in enumerate([*chain, *_split_pem(root)]):
        cert_file = tmp_path / f"c{index}.pem"
        pki_tools.write_pem(cert_file, [der])
        findings = pki_tools.pkilint("lint_pkix_cert", cert_file)
        assert pki_tools.failing_findings(findings, role if index == 0 else None) == [], (index, findings)


def test_issue_writes_the_generated_key_encrypted_and_openssl_reads_it(pnc: Pnc, tmp_path: Path) -> None:
    (tmp_path / "kp").write_text("leaf key pass\n")
    pnc(
        "pki", "issue", "contract", "--emaid", "DE8AACA2B3C4D5", "--out", tmp_path / "c.pem",
        "--key-out", tmp_path / "c.key", "--key-passphrase-file", tmp_path / "kp",
    )  # fmt: skip
    key_file = tmp_path / "c.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    pub = pki_tools.openssl("pkey", "-in", key_file, "-passin", "pass:leaf key pass", "-pubout").stdout
    leaf = x509.load_pem_x509_certificates((tmp_path / "c.pem").read_bytes())[0]
    assert pub.encode() == leaf.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_unencrypted_key_output_needs_insecure(pnc: Pnc, tmp_path: Path) -> None:
    args = ("pki", "issue", "contract", "--emaid", "DE8AACA2B3C4D5", "--key-out", tmp_path / "k.pem")
    _refused(pnc, *args, match="--insecure")
    assert not (tmp_path / "k.pem").exists()
    pnc(*args, "--insecure", "--out", tmp_path / "c.pem")
    assert (tmp_path / "k.pem").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_list_show_and_json_output(pnc: Pnc, tmp_path: Path) -> None:
    issued = json.loads(
        pnc("pki", "issue", "contract", "--emaid", "DE8AACA2B3C4D5", "--format", "json").stdout
    )
    assert issued["subject"] == "CN=DE8AACA2B3C4D5,DC=MO" and "BEGIN CERTIFICATE" in issued["pem"]
    listed = json.loads(pnc("pki", "list", "--role", "contract", "--format", "json").stdout)
    assert [r["serial"] for r in listed] == [issued["serial"]]
    assert json.loads(pnc("pki", "show", issued["serial"], "--format", "json").stdout)["status"] == "valid"
    table = pnc("pki", "list", "--role", "mo-sub2").stdout.splitlines()
    assert table[0].split()[:3] == ["SERIAL", "ROLE", "PROFILE"] and len(table) == 3  # one per profile
    assert len(json.loads(pnc("pki", "list", "--expiring", "400", "--format", "json").stdout)) >= 1
    assert (
        json.loads(pnc("pki", "list", "--expiring", "400", "--role", "v2g-root", "--format", "json").stdout)
        == []
    )
    pem = pnc("pki", "show", issued["serial"], "--pem").stdout
    assert format(x509.load_pem_x509_certificate(pem.encode()).serial_number, "x") == issued["serial"]


def test_roots_are_written_per_role(pnc: Pnc, tmp_path: Path) -> None:
    pnc("pki", "roots", "--out-dir", tmp_path / "r")
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == [
        "cso-root.pem", "mo-root.pem", "oem-root.pem", "v2g-root.pem"
    ]  # fmt: skip
    for path in (tmp_path / "r").iterdir():
        cert = x509.load_pem_x509_certificate(path.read_bytes())
        assert cert.issuer == cert.subject and "15118-2" in cert.subject.rfc4514_string()


def test_revoke_is_recorded_listed_and_audited(pnc_db: Pnc) -> None:
    pnc = pnc_db
    serial = json.loads(
        pnc("pki", "issue", "contract", "--emaid", "DE8AACA2B3C4D5", "--format", "json").stdout
    )["serial"]
    shown = json.loads(
        pnc("pki", "revoke", serial.upper(), "--reason", "key-compromise", "--format", "json").stdout
    )
    assert (shown["status"], shown["reason"]) == ("revoked", "keyCompromise")
    assert [r["serial"] for r in json.loads(pnc("pki", "list", "--revoked", "--format", "json").stdout)] == [
        serial
    ]
    with pnc.store() as store:
        [entry] = [e for e in store.audit_entries(serial=serial) if e.action == "revoke"]
    assert entry.actor == "test-operator" and entry.details["reason"] == "keyCompromise"
    _refused(pnc, "pki", "revoke", serial, "--reason", "superseded", match="already revoked")


# -- refusals: one line, exit code 1, nothing written


def test_second_init_is_refused(pnc_db: Pnc) -> None:
    _refused(pnc_db, "pki", "init", match="already initialised")


def test_wrong_passphrase_is_refused(pnc_db: Pnc) -> None:
    _refused(
        pnc_db, "pki", "issue", "contract", "--emaid", "DE8AACA2B3C4D5", match="wrong passphrase",
        env={"PNC_CA_PASSPHRASE": "not the passphrase"},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "flag", "value", "match"),
    [
        ("contract", "--emaid", "DE-8AA-CA2B3C4D5-X", "check character"),
        ("contract", "--emaid", "D8AACA2B3C4D5", "eMAID"),
        ("oem-prov", "--pcid", "WMI-123", "PCID"),
        ("secc", "--secc-id", "not a secc id", "SECC"),
    ],
)
def test_invalid_identifier_is_refused(pnc_db: Pnc, kind: str, flag: str, value: str, match: str) -> None:
    _refused(pnc_db, "pki", "issue", kind, flag, value, match=match)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("--country", "Germany"), "ISO 3166-1"),
        (("--algorithm", "ed448"), "does not allow ed448"),
        (("--ocsp-url", "ftp://x/"), "http(s) URL"),
    ],
)
def test_invalid_init_options_are_refused_before_anything_is_created(
    tmp_path: Path, args: tuple[str, ...], match: str
) -> None:
    pnc = make_pnc(tmp_path / "home")
    result = pnc("pki", "init", *args, ok=False)
    assert result.exit_code == 1 and match in result.stderr, result.stderr
    assert not (tmp_path / "home").exists()


def test_unknown_serial_is_refused(pnc_db: Pnc) -> None:
    _refused(
        pnc_db,
        "pki",
        "revoke",
        "abcdef0123",
        "--reason",
        "superseded",
        match="no certificate with serial number abcdef0123",
    )
    _refused(pnc_db, "pki", "show", "abcdef0123", match="no certificate with serial number abcdef0123")
    _refused(pnc_db, "pki", "revoke", "xyz", "--reason", "superseded", match="not hexadecimal")


def test_unknown_reason_is_refused(pnc_db: Pnc) -> None:
    serial = json.loads(
        pnc_db("pki", "issue", "contract", "--emaid", "DE8AACA2B3C4D5", "--format", "json").stdout
    )["serial"]
    _refused(pnc_db, "pki", "revoke", serial, "--reason", "bored", match="unknown revocation reason")


def test_uninitialised_home_is_refused(tmp_path: Path) -> None:
    pnc = make_pnc(tmp_path / "nothing")
    result = pnc("pki", "list", ok=False)
    assert result.exit_code == 1 and "not a CA home" in result.stderr
    assert not (tmp_path / "nothing").exists()


def test_command_line_errors_exit_2(pnc: Pnc) -> None:
    assert pnc("pki", "issue", "contract", ok=False).exit_code == 2  # --emaid missing
    assert pnc("pki", "list", "--format", "xml", ok=False).exit_code == 2


def test_the_installed_command_reports_errors_on_one_line(pnc: Pnc) -> None:
    """The real ``pnc`` process (not click's runner): exit code and stderr as a script sees them."""
    env: dict[str, Any] = {**pnc.env, "PATH": "/usr/bin:/bin"}
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "pnc", "pki", "issue", "contract", "--emaid", "XX"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ")


def test_passphrase_file_is_used_when_given(pnc: Pnc, tmp_path: Path) -> None:
    (tmp_path / "pass").write_text(PASSPHRASE + "\n")
    result = pnc(
        "pki", "issue", "contract", "--emaid", "DE8AACA2B3C4D5", "--passphrase-file", tmp_path / "pass",
        env={"PNC_CA_PASSPHRASE": ""},
    )  # fmt: skip
    assert result.stdout.startswith("serial ")


def _csr(key: Any, cn: str) -> bytes:
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, cn)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


def test_csr_is_signed_with_the_requesters_key(pnc: Pnc, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "r.csr").write_bytes(_csr(key, "DE*ICE*E45B*78C"))
    pnc(
        "pki",
        "issue",
        "secc",
        "--secc-id",
        "DE*ICE*E45B*78C",
        "--csr",
        tmp_path / "r.csr",
        "--out",
        tmp_path / "c.pem",
    )
    leaf = x509.load_pem_x509_certificates((tmp_path / "c.pem").read_bytes())[0]
    assert leaf.public_key().public_numbers() == key.public_key().public_numbers()


def test_bad_csrs_are_refused(pnc: Pnc, tmp_path: Path) -> None:
    good = x509.load_pem_x509_csr(_csr(ec.generate_private_key(ec.SECP256R1()), "DE8AACA2B3C4D5"))
    der = good.public_bytes(serialization.Encoding.DER)
    cases = {
        "garbage": (b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", "CSR"),
        # wrongly signed: one bit of the signature flipped
        "badsig": (der[:-3] + bytes([der[-3] ^ 1]) + der[-2:], "signature"),
        "p384": (_csr(ec.generate_private_key(ec.SECP384R1()), "DE8AACA2B3C4D5"), "secp384r1"),
        "other-cn": (_csr(ec.generate_private_key(ec.SECP256R1()), "DE8AACA2B3C4D6"), "does not match"),
    }
    for name, (content, match) in cases.items():
        (tmp_path / f"{name}.csr").write_bytes(content)
        args = ("pki", "issue", "contract", "--emaid", "DE8AACA2B3C4D5", "--csr", tmp_path / f"{name}.csr")
        _refused(pnc, *args, match=match)


def test_crl_lists_revocations_with_increasing_numbers_and_openssl_verifies_it(
    pnc: Pnc, tmp_path: Path
) -> None:
    serial = json.loads(
        pnc("pki", "issue", "contract", "--emaid", "DE8AACA2B3C4D5", "--format", "json").stdout
    )["serial"]
    pnc("pki", "crl", "--ca", "mo-sub2", "--out", tmp_path / "before.crl")
    pnc("pki", "revoke", serial, "--reason", "superseded")
    pnc("pki", "crl", "--ca", "mo-sub2", "--out", tmp_path / "after.crl")
    mo_sub2 = tmp_path / "mo-sub2.pem"
    with pnc.store() as store:
        pki_tools.write_pem(mo_sub2, [store.ca("iso15118-2/mo-sub2").certificate_der])
    text = pki_tools.openssl(
        "crl", "-inform", "DER", "-in", tmp_path / "after.crl", "-CAfile", mo_sub2, "-noout", "-text"
    )
    assert "verify OK" in text.stderr + text.stdout
    assert f"Serial Number: {serial.upper()}" in text.stdout and "Superseded" in text.stdout
    before = x509.load_der_x509_crl((tmp_path / "before.crl").read_bytes())
    after = x509.load_der_x509_crl((tmp_path / "after.crl").read_bytes())
    number = x509.CRLNumber
    assert after.extensions.get_extension_for_class(number).value.crl_number == (
        before.extensions.get_extension_for_class(number).value.crl_number + 1
    )
    assert len(before) == 0 and len(after) == 1
    findings = pki_tools.pkilint("lint_crl", "-t", "CRL", "-p", "PKIX", tmp_path / "after.crl")
    assert pki_tools.failing_findings(findings) == [], findings
    with pnc.store() as store:
        assert [e.details["crl_number"] for e in store.audit_entries() if e.action == "crl"] == [1, 2]


def test_crl_of_an_unknown_ca_is_refused(pnc: Pnc, tmp_path: Path) -> None:
    _refused(pnc, "pki", "crl", "--ca", "contract", "--out", tmp_path / "x.crl", match="not a CA")
    _refused(pnc, "pki", "crl", "--ca", "nobody", "--out", tmp_path / "x.crl", match="no CA named 'nobody'")
    assert not (tmp_path / "x.crl").exists()


def test_init_without_a_passphrase_is_refused_and_creates_nothing(tmp_path: Path) -> None:
    pnc = make_pnc(tmp_path / "home")
    result = pnc("pki", "init", ok=False, env={"PNC_CA_PASSPHRASE": ""})
    assert result.exit_code == 1 and "need a passphrase" in result.stderr, result.stderr
    assert not (tmp_path / "home").exists()
