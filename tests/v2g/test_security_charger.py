"""Charger-side checks of v2g.security: AuthorizationReq (GenChallenge and contract signature) and
MeteringReceiptReq / MeteringConfirmationReq, on messages Josev signed and on our own; and the
backend's reading of a request another implementation signed."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from security_pki import pki

import v2g
from v2g import security as sec
from v2g.messages import iso2, iso20_cm
from v2g.security.errors import MessageError

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "signed_interop"


def vector(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_josev_authorization_and_metering_receipt_pass_the_charger_checks() -> None:
    vec = vector("josev_iso2_contract_signatures.json")
    contract = sec.contract_of_payment_details_req(v2g.from_dict(vec["payment_details_req"], "iso2"))
    assert contract.emaid == "UKSWI123456791A" and len(contract.sub_certificates) == 2
    assert sec.subject_common_name(contract.certificate) == contract.emaid
    challenge = base64.b64decode(
        vec["payment_details_res"]["V2G_Message"]["Body"]["PaymentDetailsRes"]["GenChallenge"]
    )
    authorization = v2g.from_dict(vec["authorization_req"], "iso2")
    assert sec.verify_authorization_req(
        authorization, gen_challenge=challenge, contract_certificate=contract.certificate
    )
    stale = sec.verify_authorization_req(
        authorization, gen_challenge=bytes(16), contract_certificate=contract.certificate
    )
    assert not stale.valid and "GenChallenge" in stale.reason and stale.reference == "AuthorizationReq"
    receipt = v2g.from_dict(vec["metering_receipt_req"], "iso2")
    assert sec.verify_metering_receipt_req(receipt, contract_certificate=contract.certificate)
    other = pki("p256").mo.leaf
    assert not sec.verify_metering_receipt_req(receipt, contract_certificate=other).valid


def test_josev_iso20_authorization_passes_with_the_chain_it_carries() -> None:
    vec = vector("josev_iso20_authorization_req.json")
    challenge = base64.b64decode(
        vec["authorization_setup_res"]["AuthorizationSetupRes"]["PnC_ASResAuthorizationMode"]["GenChallenge"]
    )
    message = v2g.from_dict(vec["authorization_req"], "iso20-cm")
    assert sec.verify_authorization_req(message, gen_challenge=challenge).valid
    assert not sec.verify_authorization_req(message, gen_challenge=challenge[::-1]).valid
    assert not sec.verify_authorization_req(
        message, gen_challenge=challenge, contract_certificate=pki("p256").mo.leaf
    )


def test_our_signed_iso20_metering_confirmation_verifies_and_a_changed_reading_does_not() -> None:
    p = pki("p521")
    data = iso20_cm.SignedMeteringDataType(
        Id="ID1",
        SessionID=b"\x01" * 8,
        MeterInfo=iso20_cm.MeterInfoType(MeterID="M1", ChargedEnergyReadingWh=1000),
        Scheduled_SMDTControlMode=iso20_cm.Scheduled_SMDTControlModeType(SelectedScheduleTupleID=1),
    )
    message = iso20_cm.MeteringConfirmationReq(
        Header=iso20_cm.MessageHeaderType(SessionID=b"\x01" * 8, TimeStamp=1_700_000_000),
        SignedMeteringData=data,
    )
    assert message.Header is not None
    message.Header.Signature = sec.create_signature([sec.signed(data, "SignedMeteringData")], p.mo.leaf_key)
    received = v2g.decode(v2g.encode(message), "iso20-cm")
    assert sec.verify_metering_receipt_req(received, contract_certificate=p.mo.leaf).valid
    received.SignedMeteringData.MeterInfo.ChargedEnergyReadingWh = 999
    changed = sec.verify_metering_receipt_req(received, contract_certificate=p.mo.leaf)
    assert not changed.valid and changed.reference == "#ID1"


def test_an_unsigned_or_foreign_message_is_not_taken_for_an_authorization() -> None:
    p = pki("p256")
    unsigned = iso2.V2G_Message(
        Header=iso2.MessageHeaderType(SessionID=b"\x01" * 8),
        Body=iso2.BodyType(AuthorizationReq=iso2.AuthorizationReq(Id="ID1", GenChallenge=bytes(16))),
    )
    result = sec.verify_authorization_req(unsigned, gen_challenge=bytes(16), contract_certificate=p.mo.leaf)
    assert not result.valid and "no Signature" in result.reason
    eim = iso2.V2G_Message(
        Header=iso2.MessageHeaderType(SessionID=b"\x01" * 8),
        Body=iso2.BodyType(AuthorizationReq=iso2.AuthorizationReq()),
    )
    assert not sec.verify_authorization_req(
        eim, gen_challenge=bytes(16), contract_certificate=p.mo.leaf
    ).valid
    with pytest.raises(MessageError, match="has no AuthorizationReq"):
        sec.verify_authorization_req(
            v2g.decode(bytes.fromhex("809a004011d019231636c790f800"), "din"),
            gen_challenge=bytes(16),
            contract_certificate=p.mo.leaf,
        )
    with pytest.raises(MessageError, match="not a PaymentDetailsReq"):
        sec.contract_of_payment_details_req(unsigned)


def test_the_backend_reads_and_verifies_a_request_another_implementation_signed() -> None:
    vec = vector("iso2_certificate_installation_req_everest_forwarded.json")
    request = sec.parse_certificate_request(base64.b64decode(vec["exi_base64"]), "iso2")
    assert request.action == vec["certificate_action"] == "Install"
    assert request.pcid == "OEMProvCert" and request.id == "id1"
    assert request.root_certificate_ids == [("CN=V2GRootCA (dev)", 1)]
    assert request.signature.valid and request.signature.grammar == "xmldsig"
    install = vector("iso20_certificate_installation.json")
    exi = v2g.encode(v2g.from_dict(install["certificate_installation_req"], "iso20-cm"))
    request20 = sec.parse_certificate_request(exi, "iso20-cm")
    assert request20.signature.valid and request20.pcid == "OEMProvCert"
    assert len(request20.sub_certificates) == 2 and request20.maximum_contract_certificate_chains is not None
