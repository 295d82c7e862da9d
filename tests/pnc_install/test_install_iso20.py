"""ISO 15118-20 installation end to end on a P-521 home (and an Ed448 one), checked as an EV
checks it: the response decoded with the codec, the CPS signature over SignedInstallationData
recomputed with SHA-512 and verified with ``cryptography`` (and by ``v2g.security``), both chains
verified by ``openssl verify``, the contract key decrypted (SECP521: AES-GCM with the AAD of
[V2G20-2492]) and matched to the contract certificate."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import ev_side
import pytest
from bench import EMAID, PCID, Bench
from ops_helpers import pki_tools

import v2g
from pki.certinfo import parse_certificate
from pki.profiles import Role
from v2g import security
from v2g.messages import iso20_cm
from v2g.security.contract_key_iso2 import EncryptedContractKey
from v2g.security.contract_key_iso20 import decrypt_contract_key_iso20

OCPP201_EXI_RESPONSE_LIMIT = 7500  # characters of base64 (ocpp-pnc.md); this CA's P-521 chains fit


def _check_like_an_ev(bench: Bench, exi: bytes, ev: ev_side.Vehicle, tmp_path: Path) -> Any:
    res = v2g.decode(exi, "iso20-cm")
    assert isinstance(res, iso20_cm.CertificateInstallationRes)
    assert res.ResponseCode == "OK" and res.EVSEProcessing == "Finished"
    assert res.Header.SessionID == ev.session_id and res.RemainingContractCertificateChains == 0
    data = res.SignedInstallationData
    cps = res.CPSCertificateChain
    cps_chain = [cps.Certificate, *cps.SubCertificates.Certificate]
    contract_chain = [
        data.ContractCertificateChain.Certificate,
        *data.ContractCertificateChain.SubCertificates.Certificate,
    ]
    ev_side.verify(
        "iso20-cm",
        res.Header.Signature,
        ev_side.public_key_of(cps.Certificate),
        {data.Id: (data, "SignedInstallationData")},
    )
    roots = bench.service.roots("iso15118-20")
    installed = security.verify_certificate_installation_res(
        exi,
        recipient_key=ev.key,
        v2g_roots=[roots[Role.V2G_ROOT]],
        mo_roots=[roots[Role.MO_ROOT]],
        protocol="iso20-cm",
        pcid=PCID,
    )
    assert installed.certificate == contract_chain[0] and installed.response_code == "OK"
    for name, root, chain in (
        ("cps", roots[Role.V2G_ROOT], cps_chain),
        ("mo", roots[Role.MO_ROOT], contract_chain),
    ):
        (tmp_path / name).mkdir(parents=True)
        assert pki_tools.openssl_verify(tmp_path / name, root, chain).stdout.strip().endswith(": OK")
    assert parse_certificate(contract_chain[0]).common_name == EMAID
    return res


def test_installation_response_is_accepted_by_an_independent_ev(bench: Bench, tmp_path: Path) -> None:
    bench.registry.add(EMAID, pcid=PCID)
    ev = bench.vehicle("iso20-cm")
    result = bench.install(bench.request("iso20-cm", ev), "iso20-cm")
    assert (result.status, result.response_code) == ("Accepted", "OK"), result.detail
    res = _check_like_an_ev(bench, result.exi_response, ev, tmp_path)
    data = res.SignedInstallationData
    assert data.ECDHCurve == "SECP521" and len(data.DHPublicKey) == 133
    assert len(data.SECP521_EncryptedPrivateKey) == 94 and data.X448_EncryptedPrivateKey is None
    encrypted = EncryptedContractKey("SECP521", data.DHPublicKey, data.SECP521_EncryptedPrivateKey)
    contract = data.ContractCertificateChain.Certificate
    key = decrypt_contract_key_iso20(encrypted, ev.key, pcid=PCID, contract_certificate=contract)
    assert ev_side.same_key(key, contract)
    # the AAD binds the key to this vehicle: another PCID does not open it
    with pytest.raises(security.KeyEncryptionError):
        decrypt_contract_key_iso20(
            encrypted, ev.key, pcid="WMIV1234567890ABD1", contract_certificate=contract
        )
    assert len(result.exi_response_base64()) <= OCPP201_EXI_RESPONSE_LIMIT


def test_signed_installation_data_with_a_flipped_bit_is_caught_by_the_ev(bench: Bench) -> None:
    bench.registry.add(EMAID, pcid=PCID)
    result = bench.install(bench.request("iso20-cm", bench.vehicle("iso20-cm")), "iso20-cm")
    res = v2g.decode(result.exi_response, "iso20-cm")
    data = res.SignedInstallationData
    data.DHPublicKey = data.DHPublicKey[:-1] + bytes([data.DHPublicKey[-1] ^ 1])
    cps_key = ev_side.public_key_of(res.CPSCertificateChain.Certificate)
    with pytest.raises(AssertionError, match="digest of SignedInstallationData differs"):
        ev_side.verify("iso20-cm", res.Header.Signature, cps_key, {data.Id: (data, "SignedInstallationData")})
    verdict = security.verify_signature(
        res.Header.Signature, [security.signed(data, "SignedInstallationData")], cps_key
    )
    assert not verdict.valid and verdict.reference == "#" + data.Id


def test_a_pcid_without_its_check_character_cannot_get_an_iso20_contract(bench: Bench) -> None:
    short = "WMIV1234567890ABC"  # 17 characters: [V2G20-2492] binds the key to an 18-character PCID
    bench.registry.add(EMAID, pcid=short)
    request = bench.request("iso20-cm", bench.vehicle("iso20-cm", pcid=short))
    before = bench.snapshot()
    result = bench.install(request, "iso20-cm")
    assert (result.status, result.response_code) == ("Accepted", "WARNING_CertificateValidationError")
    assert "[V2G20-2492]" in result.detail and bench.snapshot() == before


def _ed448_request(ev: ev_side.Vehicle, roots: list[tuple[str, int]]) -> Any:
    """A -20 request signed with an Ed448 provisioning key (by v2g.security: the test EV signs ECDSA only)."""
    chain = iso20_cm.SignedCertificateChainType(
        Id="ID1",
        Certificate=ev.chain[0],
        SubCertificates=iso20_cm.SubCertificatesType(Certificate=list(ev.chain[1:])),
    )
    signature = security.create_signature([security.signed(chain, "OEMProvisioningCertificateChain")], ev.key)
    return iso20_cm.CertificateInstallationReq(
        Header=iso20_cm.MessageHeaderType(
            SessionID=ev.session_id, TimeStamp=1_767_225_600, Signature=signature
        ),
        OEMProvisioningCertificateChain=chain,
        ListOfRootCertificateIDs=ev_side.root_ids("iso20-cm", roots),
        MaximumContractCertificateChains=1,
    )


def test_installation_on_an_ed448_home_encrypts_with_x448(ca_template_ed448: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(ca_template_ed448, home)
    with Bench.open(home) as bench:
        bench.registry.add(EMAID, pcid=PCID)
        ev = bench.vehicle("iso20-cm")
        result = bench.install(_ed448_request(ev, bench.root_ids("iso20-cm")), "iso20-cm")
        assert (result.status, result.response_code) == ("Accepted", "OK"), result.detail
        res = v2g.decode(result.exi_response, "iso20-cm")
        data = res.SignedInstallationData
        verdict = security.verify_signature(
            res.Header.Signature,
            [security.signed(data, "SignedInstallationData")],
            res.CPSCertificateChain.Certificate,
        )
        assert verdict.valid and verdict.suite is security.ED448, verdict.reason
        assert data.ECDHCurve == "X448" and len(data.X448_EncryptedPrivateKey) == 84
        contract = data.ContractCertificateChain.Certificate
        encrypted = EncryptedContractKey("X448", data.DHPublicKey, data.X448_EncryptedPrivateKey)
        key = decrypt_contract_key_iso20(encrypted, ev.key, pcid=PCID, contract_certificate=contract)
        public = ev_side.public_key_of(contract).public_bytes_raw()
        assert key.public_key_bytes() == public


@pytest.mark.parametrize("namespace", ["urn:iso:std:iso:15118:-20:DC", "urn:iso:std:iso:15118:-20:AC"])
def test_a_charger_naming_the_sessions_energy_namespace_gets_the_same_installation(
    bench: Bench, namespace: str
) -> None:
    """Chargers report the namespace SupportedAppProtocol negotiated; the installation messages are
    CommonMessages in every -20 session, so the request is served as if CommonMessages were named."""
    bench.registry.add(EMAID, pcid=PCID)
    request = v2g.encode(bench.request("iso20-cm", bench.vehicle("iso20-cm")))
    result = bench.installer.install_contract(request, namespace, "Install")
    assert result.ok, result.detail
    assert v2g.decode(result.exi_response, "iso20-cm").ResponseCode == "OK"
