"""ISO 15118-2 installation and update end to end, checked as an EV checks the response: decoded
with the codec, the CPS signature recomputed from the four fragments and verified with
``cryptography``, both chains verified by ``openssl verify``, the contract key decrypted and
matched to the certificate; and what the store keeps (never the key)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import ev_side
import pytest
from bench import EMAID, PCID, Bench
from cryptography.hazmat.primitives.asymmetric import ec
from ops_helpers import pki_tools

import v2g
from pki.certinfo import parse_certificate
from pki.profiles import Role
from v2g import security
from v2g.messages import iso2

OCPP201_EXI_RESPONSE_LIMIT = 7500  # characters of base64 (ocpp-pnc.md)


def _signed_elements(res: Any) -> dict[str, tuple[Any, str]]:
    names = ("ContractSignatureCertChain", "ContractSignatureEncryptedPrivateKey", "DHpublickey", "eMAID")
    return {getattr(res, n).Id: (getattr(res, n), n) for n in names}


def _check_like_an_ev(
    bench: Bench, exi: bytes, ev: ev_side.Vehicle, kind: str, tmp_path: Path
) -> tuple[Any, Any]:
    """Everything an EV checks; returns (the response element, the decrypted contract key)."""
    message = v2g.decode(exi, "iso2")
    assert isinstance(message, iso2.V2G_Message)
    assert message.Header.SessionID == ev.session_id
    res = getattr(message.Body, kind)
    assert res.ResponseCode == "OK"
    sa = res.SAProvisioningCertificateChain
    sa_chain = [sa.Certificate, *sa.SubCertificates.Certificate]
    contract = res.ContractSignatureCertChain
    contract_chain = [contract.Certificate, *contract.SubCertificates.Certificate]
    # the CPS signature, recomputed from the four fragments, with the SA provisioning leaf's key
    ev_side.verify(
        "iso2", message.Header.Signature, ev_side.public_key_of(sa.Certificate), _signed_elements(res)
    )
    # and everything again by v2g.security's EV side (chains, signature, key decryption)
    roots = bench.service.roots("iso15118-2")
    installed = security.verify_certificate_installation_res(
        exi, recipient_key=ev.key, v2g_roots=[roots[Role.V2G_ROOT]], mo_roots=[roots[Role.MO_ROOT]]
    )
    assert installed.signature.grammar == "xmldsig" and installed.certificate == contract.Certificate
    # both chains, by openssl, against the roots the EV trusts
    for name, root, chain in (
        ("sa", roots[Role.V2G_ROOT], sa_chain),
        ("mo", roots[Role.MO_ROOT], contract_chain),
    ):
        (tmp_path / name).mkdir(parents=True)
        result = pki_tools.openssl_verify(tmp_path / name, root, chain)
        assert result.stdout.strip().endswith(": OK"), result.stdout
    assert [parse_certificate(c).common_name for c in sa_chain] == [
        "CPS Leaf 15118-2", "CPS Sub-CA 2 15118-2", "CPS Sub-CA 1 15118-2",
    ]  # fmt: skip
    # the eMAID element names the contract certificate's subject
    assert res.eMAID.value == parse_certificate(contract.Certificate).common_name == EMAID
    key = ev_side.decrypt_iso2_contract_key(
        ev.key, res.DHpublickey.value, res.ContractSignatureEncryptedPrivateKey.value
    )
    assert ev_side.same_key(key, contract.Certificate)
    return res, key


def test_installation_response_is_accepted_by_an_independent_ev(bench: Bench, tmp_path: Path) -> None:
    bench.registry.add(EMAID, pcid=PCID)
    ev = bench.vehicle()
    result = bench.install(bench.request("iso2", ev))
    assert (result.status, result.outcome, result.response_code) == ("Accepted", "ok", "OK"), result.detail
    assert result.emaid == EMAID and result.pcid == PCID and result.serial is not None
    res, _key = _check_like_an_ev(bench, result.exi_response, ev, "CertificateInstallationRes", tmp_path)
    assert parse_certificate(res.ContractSignatureCertChain.Certificate).serial_hex == result.serial
    assert len(result.exi_response_base64()) <= OCPP201_EXI_RESPONSE_LIMIT
    assert base64.b64decode(result.exi_response_base64()) == result.exi_response


def test_installation_is_stored_registered_and_audited_but_the_key_is_nowhere(
    bench: Bench, tmp_path: Path
) -> None:
    bench.registry.add(EMAID, pcid=PCID)
    ev = bench.vehicle()
    result = bench.install(bench.request("iso2", ev))
    _res, key = _check_like_an_ev(bench, result.exi_response, ev, "CertificateInstallationRes", tmp_path)
    assert result.serial is not None
    record = bench.service.store.certificate(result.serial)
    assert record.role == "contract" and record.issuer == "iso15118-2/mo-sub2"
    assert bench.registry.get(EMAID).certificate_serial == result.serial
    entries = bench.service.store.audit_entries(serial=result.serial)
    assert [e.action for e in entries] == ["issue", "contract-install"]
    assert entries[1].details["pcid"] == PCID and entries[1].actor == "test-bridge"
    # the contract's private key: not in any audit entry, not in the database files, not in the result
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    audit_text = json.dumps([e.details for e in bench.service.store.audit_entries()])
    for form in (scalar.hex(), scalar.hex().upper(), base64.b64encode(scalar).decode()):
        assert form not in audit_text
    bench.service.close()
    for path in bench.home.glob("store.sqlite*"):
        assert scalar not in path.read_bytes(), path
    assert scalar not in repr(result).encode() and scalar not in result.exi_response


def test_update_reissues_the_contract_and_encrypts_for_the_old_contract_key(
    bench: Bench, tmp_path: Path
) -> None:
    bench.registry.add(EMAID, pcid=PCID)
    ev = bench.vehicle()
    first = bench.install(bench.request("iso2", ev))
    res, old_key = _check_like_an_ev(
        bench, first.exi_response, ev, "CertificateInstallationRes", tmp_path / "i"
    )
    chain = res.ContractSignatureCertChain
    holder = ev_side.Vehicle(old_key, (chain.Certificate, *chain.SubCertificates.Certificate))
    update = ev_side.update_request(holder, "DE-8AA-CA2B3C4D5-L", bench.root_ids())
    result = bench.install(update, action="Update")
    assert (result.status, result.response_code) == ("Accepted", "OK"), result.detail
    new, new_key = _check_like_an_ev(
        bench, result.exi_response, holder, "CertificateUpdateRes", tmp_path / "u"
    )
    assert (
        parse_certificate(new.ContractSignatureCertChain.Certificate).serial_hex
        == result.serial
        != first.serial
    )
    assert new_key.private_numbers().private_value != old_key.private_numbers().private_value
    assert bench.registry.get(EMAID).certificate_serial == result.serial


def test_contract_certificate_ends_with_the_contracts_last_day(bench: Bench) -> None:
    import datetime as dt

    last_day = (bench.service.clock() + dt.timedelta(days=30)).date()
    bench.registry.add(EMAID, pcid=PCID, valid_to=last_day)
    result = bench.install(bench.request("iso2", bench.vehicle()))
    assert result.serial is not None
    not_after = bench.service.store.certificate(result.serial).not_after
    assert dt.timedelta(days=30) < not_after - bench.service.clock() <= dt.timedelta(days=31)


def test_auto_provisioning_registers_a_contract_for_an_unknown_vehicle(bench: Bench, tmp_path: Path) -> None:
    from pnc.core.policy import ContractPolicy

    bench.with_policy(ContractPolicy("DE-PNC"))
    ev = bench.vehicle()
    result = bench.install(bench.request("iso2", ev))
    assert (result.status, result.response_code) == ("Accepted", "OK"), result.detail
    (contract,) = bench.registry.for_pcid(PCID)
    assert result.emaid == contract.emaid and contract.emaid.startswith("DEPNC")
    assert contract.certificate_serial == result.serial
    again = bench.install(bench.request("iso2", ev))
    assert again.emaid == contract.emaid and len(bench.registry.list()) == 1
    assert bench.audit_actions().count("contract-provision") == 1


def test_concurrent_installations_for_many_vehicles_all_succeed(bench: Bench) -> None:
    from concurrent.futures import ThreadPoolExecutor

    vehicles = []
    for n in range(12):
        pcid = f"WMIV12345678900{n:02d}"
        bench.registry.add(f"DE8AACA2B3C4{n:02d}", pcid=pcid)
        vehicles.append(v2g.encode(bench.request("iso2", bench.vehicle(pcid=pcid))))
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(bench.install, vehicles))
    assert [r.response_code for r in results] == ["OK"] * 12
    assert len({r.serial for r in results}) == 12
    assert all(c.certificate_serial for c in bench.registry.list())


@pytest.mark.postgres
def test_installation_on_postgresql(pg_bench: Bench, tmp_path: Path) -> None:
    pg_bench.registry.add(EMAID, pcid=PCID)
    ev = pg_bench.vehicle()
    result = pg_bench.install(pg_bench.request("iso2", ev))
    assert result.response_code == "OK", result.detail
    _check_like_an_ev(pg_bench, result.exi_response, ev, "CertificateInstallationRes", tmp_path)
    assert pg_bench.registry.get(EMAID).certificate_serial == result.serial


def test_the_independent_ev_verifier_accepts_signatures_over_exificient_encodings() -> None:
    """The test EV's verifier agrees with fragments EXIficient encoded (tests/vectors/signed)."""
    path = Path(__file__).resolve().parents[1] / "vectors" / "signed" / "iso2.jsonl"
    checked = 0
    for line in path.read_text().splitlines():
        vec = json.loads(line)
        if vec["message"] not in ("CertificateInstallationRes", "CertificateUpdateRes"):
            continue
        message = v2g.decode(bytes.fromhex(vec["hex"]), "iso2")
        res = getattr(message.Body, vec["message"])
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), bytes.fromhex(vec["public_key"]))
        ev_side.verify("iso2", message.Header.Signature, key, _signed_elements(res))
        last = res.eMAID.value[-1]
        res.eMAID.value = res.eMAID.value[:-1] + ("Y" if last != "Y" else "Z")
        with pytest.raises(AssertionError, match="digest of eMAID"):
            ev_side.verify("iso2", message.Header.Signature, key, _signed_elements(res))
        checked += 1
    assert checked == 2


@pytest.mark.parametrize(
    "name", ["ContractSignatureCertChain", "ContractSignatureEncryptedPrivateKey", "DHpublickey", "eMAID"]
)
def test_a_flipped_bit_in_any_signed_element_of_the_response_is_caught_by_the_ev(
    bench: Bench, name: str
) -> None:
    bench.registry.add(EMAID, pcid=PCID)
    result = bench.install(bench.request("iso2", bench.vehicle()))
    message = v2g.decode(result.exi_response, "iso2")
    res = message.Body.CertificateInstallationRes
    element = getattr(res, name)
    if name == "ContractSignatureCertChain":
        element.Certificate = element.Certificate[:-1] + bytes([element.Certificate[-1] ^ 1])
    elif name == "eMAID":
        element.value = element.value[:-1] + ("A" if element.value[-1] != "A" else "B")
    else:
        element.value = bytes([element.value[0] ^ 1]) + element.value[1:]
    cps_key = ev_side.public_key_of(res.SAProvisioningCertificateChain.Certificate)
    with pytest.raises(AssertionError, match=f"digest of {name} differs"):
        ev_side.verify("iso2", message.Header.Signature, cps_key, _signed_elements(res))
    elements = [security.signed(obj, n) for obj, n in _signed_elements(res).values()]
    verdict = security.verify_signature(message.Header.Signature, elements, cps_key)
    assert not verdict.valid and verdict.reference == "#" + element.Id and name in verdict.reason
