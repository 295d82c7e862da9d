"""Every refusal of an evaluated certificate request, for ISO 15118-2 and -20: the ResponseCode in a
valid EXI response (as the XSD of each schema spells it), the OCPP status (Accepted: the request
was processed, the EV reads the refusal from the ResponseCode), the session echoed, nothing issued
or changed in the store, and the refusal audited."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ev_side
import pytest
from bench import EMAID, PCID, PROFILE, Bench

import v2g
from pki.contracts import ContractStatus
from pki.profiles import ProfileName, Role
from pnc.core.install import ContractInstaller, InstallResult

PROTOCOLS = ["iso2", "iso20-cm"]
OTHER_PCID = "WMIV1234567890ABD1"


def refused(bench: Bench, protocol: str, code: str, run: Callable[[], InstallResult]) -> InstallResult:
    """Run ``run`` and check the refusal: code, OCPP status, response, store unchanged, audit."""
    before = bench.snapshot()
    audit_before = len(bench.audit_actions())
    result = run()
    assert (result.response_code, result.status) == (code, "Accepted"), result.detail
    assert result.serial is None
    response = v2g.decode(result.exi_response, protocol)
    if protocol == "iso2":
        assert response.Header.SessionID == ev_side.Vehicle.session_id
        (res,) = [
            getattr(response.Body, f.name) for f in response.Body.FIELDS if getattr(response.Body, f.name)
        ]
        assert res.ResponseCode == code and response.Header.Signature is None
    else:
        assert response.Header.SessionID == ev_side.Vehicle.session_id
        assert response.ResponseCode == code and response.EVSEProcessing == "Finished"
    assert bench.snapshot() == before
    assert bench.audit_actions()[audit_before:] == ["contract-install-refused"]
    return result


@pytest.fixture(scope="module")
def foreign_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Another organisation's PKI (both profiles): its OEM chains do not lead to our roots."""
    home = tmp_path_factory.mktemp("foreign") / "home"
    with Bench.create(home, profiles=(ProfileName.ISO15118_2, ProfileName.ISO15118_20)):
        pass
    yield home


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_unknown_vehicle(bench: Bench, protocol: str) -> None:
    request = bench.request(protocol, bench.vehicle(protocol))
    code = {"iso2": "FAILED_NoCertificateAvailable", "iso20-cm": "WARNING_NoContractMatchingPCIDFound"}
    result = refused(bench, protocol, code[protocol], lambda: bench.install(request, protocol))
    assert (
        result.outcome == "unknown-vehicle"
        and result.pcid == PCID
        and "no contract for PCID" in result.detail
    )
    entry = bench.service.store.audit_entries()[-1]
    assert entry.subject == f"PCID={PCID}" and entry.details["response_code"] == code[protocol]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("state", ["blocked", "expired-status", "past-last-day"])
def test_blocked_or_expired_contract(bench: Bench, protocol: str, state: str) -> None:
    if state == "blocked":
        bench.registry.add(EMAID, pcid=PCID, status=ContractStatus.BLOCKED)
    elif state == "expired-status":
        bench.registry.add(EMAID, pcid=PCID, status=ContractStatus.EXPIRED)
    else:
        bench.registry.add(EMAID, pcid=PCID, valid_to=dt.date(2020, 1, 31))
    request = bench.request(protocol, bench.vehicle(protocol))
    code = {"iso2": "FAILED_ContractCanceled", "iso20-cm": "WARNING_NoCertificateAvailable"}
    result = refused(bench, protocol, code[protocol], lambda: bench.install(request, protocol))
    assert result.outcome == "contract-canceled" and result.emaid == EMAID


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_expired_provisioning_certificate(bench: Bench, protocol: str) -> None:
    bench.registry.add(EMAID, pcid=PCID)
    request = bench.request(protocol, bench.vehicle(protocol, validity_days=30))
    bench.shift_clock(dt.timedelta(days=31))
    code = {"iso2": "FAILED_CertificateExpired", "iso20-cm": "WARNING_CertificateExpired"}
    result = refused(bench, protocol, code[protocol], lambda: bench.install(request, protocol))
    assert result.outcome == "certificate-expired" and "expired" in result.detail


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_provisioning_certificate_not_yet_valid(bench: Bench, protocol: str) -> None:
    bench.registry.add(EMAID, pcid=PCID)
    later = bench.service.clock() + dt.timedelta(days=10)
    request = bench.request(protocol, bench.vehicle(protocol, issued_at=later))
    code = {"iso2": "FAILED_CertificateExpired", "iso20-cm": "WARNING_CertificateNotYetValid"}
    refused(bench, protocol, code[protocol], lambda: bench.install(request, protocol))


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("what", ["leaf", "oem-sub2"])
def test_revoked_provisioning_chain(bench: Bench, protocol: str, what: str) -> None:
    ev = bench.vehicle(protocol)
    request = bench.request(protocol, ev)
    assert bench.install(request, protocol).outcome == "unknown-vehicle"  # the chain's statuses are cached
    bench.registry.add(EMAID, pcid=PCID)
    if what == "leaf":
        serial = format(_serial(ev.chain[0]), "x")
    else:
        serial = bench.service.ca_record("oem-sub2", PROFILE[protocol]).serial_hex
    bench.service.revoke(serial, "keyCompromise")
    code = {"iso2": "FAILED_CertificateRevoked", "iso20-cm": "WARNING_CertificateRevoked"}
    result = refused(bench, protocol, code[protocol], lambda: bench.install(request, protocol))
    assert result.outcome == "certificate-revoked" and serial in result.detail


def _serial(der: bytes) -> int:
    from cryptography import x509

    return x509.load_der_x509_certificate(der).serial_number


def test_revocation_by_another_process_counts_within_a_second(bench: Bench) -> None:
    import time

    request = bench.request("iso2", bench.vehicle())
    assert bench.install(request).outcome == "unknown-vehicle"  # the chain's statuses are cached
    bench.registry.add(EMAID, pcid=PCID)
    other = bench.make_service()  # another process sharing the store
    with other:
        other.revoke(bench.service.ca_record("oem-sub2").serial_hex, "cACompromise")
    time.sleep(1.1)
    refused(bench, "iso2", "FAILED_CertificateRevoked", lambda: bench.install(request))


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_provisioning_chain_of_an_untrusted_oem(bench: Bench, protocol: str, foreign_home: Path) -> None:
    bench.registry.add(EMAID, pcid=PCID)
    with Bench.open(foreign_home) as foreign:
        request = foreign.request(protocol, foreign.vehicle(protocol), bench.root_ids(protocol))
    code = {"iso2": "FAILED_CertChainError", "iso20-cm": "WARNING_CertificateValidationError"}
    result = refused(bench, protocol, code[protocol], lambda: bench.install(request, protocol))
    assert "no trusted issuer" in result.detail


def test_an_oem_pki_added_to_the_trust_is_accepted(bench: Bench, foreign_home: Path) -> None:
    bench.registry.add(EMAID, pcid=PCID)
    with Bench.open(foreign_home) as foreign:
        request = foreign.request("iso2", foreign.vehicle(), bench.root_ids())
        oem = [
            foreign.service.ca_record(role).certificate_der for role in ("oem-root", "oem-sub1", "oem-sub2")
        ]
    bench.installer = ContractInstaller(bench.service, extra_oem_certificates=oem)
    assert bench.install(request).response_code == "OK"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_swapped_provisioning_certificate(bench: Bench, protocol: str) -> None:
    """The request carries another vehicle's valid certificate but is signed with this one's key."""
    bench.registry.add(EMAID, pcid=OTHER_PCID)
    mine, other = bench.vehicle(protocol), bench.vehicle(protocol, pcid=OTHER_PCID)
    request = bench.request(protocol, ev_side.Vehicle(mine.key, other.chain))
    result = refused(bench, protocol, "FAILED_SignatureError", lambda: bench.install(request, protocol))
    assert result.pcid == OTHER_PCID and result.outcome == "signature-error"


def _tamper(protocol: str, request: Any, where: str) -> Any:
    tampered = copy.deepcopy(request)
    signature = tampered.Header.Signature
    if where == "signed element":  # a field inside the element the signature covers
        roots = (
            tampered.Body.CertificateInstallationReq if protocol == "iso2" else tampered
        ).ListOfRootCertificateIDs
        if protocol == "iso2":
            roots.RootCertificateID[1].X509SerialNumber ^= 1
        else:  # -20 signs only the provisioning chain: flip a bit of the leaf's signature
            chain = tampered.OEMProvisioningCertificateChain
            chain.Certificate = chain.Certificate[:-1] + bytes([chain.Certificate[-1] ^ 1])
    elif where == "DigestValue":
        ref = signature.SignedInfo.Reference[0]
        ref.DigestValue = bytes([ref.DigestValue[0] ^ 0x80]) + ref.DigestValue[1:]
    elif where == "SignatureValue":
        value = signature.SignatureValue.value
        signature.SignatureValue.value = value[:10] + bytes([value[10] ^ 1]) + value[11:]
    elif where == "Reference URI":
        signature.SignedInfo.Reference[0].URI = "#ID2"
    elif where == "no signature":
        tampered.Header.Signature = None
    return tampered


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    "where", ["signed element", "DigestValue", "SignatureValue", "Reference URI", "no signature"]
)
def test_tampered_request(bench: Bench, protocol: str, where: str) -> None:
    bench.registry.add(EMAID, pcid=PCID)
    request = _tamper(protocol, bench.request(protocol, bench.vehicle(protocol)), where)
    code = "FAILED_SignatureError"
    if protocol == "iso20-cm" and where == "signed element":
        code = "WARNING_CertificateValidationError"  # the broken certificate is found first
    result = refused(bench, protocol, code, lambda: bench.install(request, protocol))
    assert result.outcome in ("signature-error", "cert-chain-error")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_ev_that_does_not_trust_our_v2g_root(bench: Bench, protocol: str) -> None:
    bench.registry.add(EMAID, pcid=PCID)
    roots = [("CN=Some Other V2G Root,O=Elsewhere", 4711), bench.root_ids(protocol)[1]]
    request = bench.request(protocol, bench.vehicle(protocol), roots)
    code = {"iso2": "FAILED_NoCertificateAvailable", "iso20-cm": "WARNING_NoCertificateAvailable"}
    result = refused(bench, protocol, code[protocol], lambda: bench.install(request, protocol))
    assert "ListOfRootCertificateIDs" in result.detail


def test_iso20_update_action_is_an_installation(bench: Bench) -> None:
    request = bench.request("iso20-cm", bench.vehicle("iso20-cm"))
    refused(
        bench,
        "iso20-cm",
        "WARNING_NoContractMatchingPCIDFound",
        lambda: bench.install(request, "iso20-cm", action="Update"),
    )


# -- ISO 15118-2 CertificateUpdateReq


@pytest.fixture
def contract_holder(bench: Bench) -> ev_side.Vehicle:
    """A vehicle holding the contract certificate (and its key) of EMAID, issued by this home."""
    bench.registry.add(EMAID, pcid=PCID)
    issued = bench.service.issue_leaf(Role.CONTRACT, EMAID)
    return ev_side.Vehicle(issued.private_key, (issued.certificate, *issued.chain))  # type: ignore[arg-type]


def test_update_naming_another_emaid(bench: Bench, contract_holder: ev_side.Vehicle) -> None:
    bench.registry.add("DE8AACA2B3C4D6", pcid=OTHER_PCID)
    update = ev_side.update_request(contract_holder, "DE8AACA2B3C4D6", bench.root_ids())
    result = refused(bench, "iso2", "FAILED_CertChainError", lambda: bench.install(update, action="Update"))
    assert "its contract certificate is for DE8AACA2B3C4D5L" in result.detail


def test_update_of_a_blocked_contract(bench: Bench, contract_holder: ev_side.Vehicle) -> None:
    bench.registry.block(EMAID)
    update = ev_side.update_request(contract_holder, EMAID, bench.root_ids())
    refused(bench, "iso2", "FAILED_ContractCanceled", lambda: bench.install(update, action="Update"))


def test_update_of_a_contract_the_registry_does_not_know(
    bench: Bench, contract_holder: ev_side.Vehicle
) -> None:
    bench.registry.remove(EMAID)
    update = ev_side.update_request(contract_holder, EMAID, bench.root_ids())
    refused(bench, "iso2", "FAILED_NoCertificateAvailable", lambda: bench.install(update, action="Update"))


def test_update_with_a_revoked_contract_certificate(bench: Bench, contract_holder: ev_side.Vehicle) -> None:
    bench.service.revoke(format(_serial(contract_holder.chain[0]), "x"), "superseded")
    update = ev_side.update_request(contract_holder, EMAID, bench.root_ids())
    refused(bench, "iso2", "FAILED_CertificateRevoked", lambda: bench.install(update, action="Update"))


def test_update_signed_with_another_key(bench: Bench, contract_holder: ev_side.Vehicle) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    impostor = ev_side.Vehicle(ec.generate_private_key(ec.SECP256R1()), contract_holder.chain)
    update = ev_side.update_request(impostor, EMAID, bench.root_ids())
    refused(bench, "iso2", "FAILED_SignatureError", lambda: bench.install(update, action="Update"))
