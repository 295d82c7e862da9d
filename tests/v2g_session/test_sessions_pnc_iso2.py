"""ISO 15118-2 Plug & Charge sessions, EV machine against SECC machine in memory: certificate
installation through the charger application's backend, PaymentDetails, the signed
AuthorizationReq over the SECC's GenChallenge, metering receipts, certificate update."""

from __future__ import annotations

import pytest
from security_pki import EMAID
from session_pki import Backend, charger_app, credentials

from v2g.session import (
    AuthorizationRequested,
    Authorized,
    CertificateInstallationRequested,
    ContractInstalled,
    EvccSession,
    EvPolicy,
    EvseState,
    MeteringReceiptReceived,
    PaymentSelected,
    SeccConfig,
    SeccSession,
    SessionFailed,
    run,
)
from v2g.session.loopback import Transcript


def pnc_session(
    mode: str,
    *,
    with_contract: bool = False,
    install: str = "missing",
    receipts: bool = False,
    **settings: object,
) -> tuple[EvccSession, SeccSession, Transcript, Backend]:
    ev = EvccSession(
        EvPolicy(
            protocols=("iso2",),
            energy_mode=mode,
            payment="Contract",
            credentials=credentials("iso2", with_contract=with_contract),
            install_certificate=install,
            stop_after_loops=3,
            **settings,  # type: ignore[arg-type]
        )
    )
    secc = SeccSession(SeccConfig(), evse=EvseState(follow_ev_targets=True, receipt_required=receipts))
    backend = Backend("iso2")
    transcript = run(ev, secc, listener=charger_app(secc, backend))
    return ev, secc, transcript, backend


@pytest.mark.parametrize("mode", ["AC_three_phase_core", "DC_extended"])
def test_pnc_session_installs_a_contract_and_authorizes_with_it(mode: str) -> None:
    ev, secc, transcript, backend = pnc_session(mode)
    names = transcript.names("secc")
    assert names[3:7] == [
        "PaymentServiceSelectionReq",
        "CertificateInstallationReq",
        "PaymentDetailsReq",
        "AuthorizationReq",
    ]
    assert (ev.outcome, secc.outcome) == ("End", "End")
    installed = transcript.events("ev", ContractInstalled)
    assert [e.emaid for e in installed] == [EMAID]
    contract = ev.policy.credentials.contract
    assert contract is installed[0].contract
    request = transcript.events("secc", CertificateInstallationRequested)[0]
    assert request.action == "Install" and request.schema_version == "urn:iso:15118:2:2013:MsgDef"
    assert backend.requests[0].pcid == "WMIV1A2B3C4D5E6F7G"
    auth = transcript.events("secc", AuthorizationRequested)[0]
    assert auth.payment == "PnC" and auth.emaid == EMAID and auth.certificate == contract.certificate
    assert [e.payment for e in transcript.events("ev", Authorized)] == ["PnC"]
    assert transcript.events("secc", PaymentSelected)[0].service_ids == (1, 2)


def test_an_ev_with_a_contract_skips_installation() -> None:
    _, secc, transcript, backend = pnc_session("DC_extended", with_contract=True)
    names = transcript.names("secc")
    assert "CertificateInstallationReq" not in names and names[4:6] == [
        "PaymentDetailsReq",
        "AuthorizationReq",
    ]
    assert not backend.requests and secc.outcome == "End"


def test_certificate_update_replaces_the_contract_signed_with_the_old_key() -> None:
    _, secc, transcript, backend = pnc_session("DC_extended", with_contract=True, install="always")
    assert "CertificateUpdateReq" in transcript.names("secc")
    assert backend.requests[0].action == "Update" and backend.requests[0].emaid == EMAID
    assert transcript.events("ev", ContractInstalled) and secc.outcome == "End"


def test_service_detail_of_the_certificate_service_is_answered() -> None:
    _, secc, transcript, _ = pnc_session("DC_extended", service_details=True)
    assert transcript.names("secc")[3] == "ServiceDetailReq"
    detail = transcript.events("ev")
    res = next(e for e in detail if getattr(e, "name", "") == "ServiceDetailRes")
    sets = res.message.Body.ServiceDetailRes.ServiceParameterList.ParameterSet
    assert [s.Parameter[0].stringValue for s in sets] == ["Installation", "Update"]
    assert secc.outcome == "End"


@pytest.mark.parametrize("mode", ["AC_three_phase_core", "DC_extended"])
def test_metering_receipts_are_signed_with_the_contract_key_and_verified(mode: str) -> None:
    _, secc, transcript, _ = pnc_session(mode, receipts=True)
    assert "MeteringReceiptReq" in transcript.names("secc")
    receipts = transcript.events("secc", MeteringReceiptReceived)
    assert [r.valid for r in receipts] == [True]
    assert secc.outcome == "End"


def test_a_refused_contract_ends_the_session_with_the_applications_code() -> None:
    ev = EvccSession(
        EvPolicy(protocols=("iso2",), payment="Contract", credentials=credentials("iso2", with_contract=True))
    )
    secc = SeccSession(SeccConfig())
    transcript = run(ev, secc, listener=charger_app(secc, accept=False, code="FAILED_CertificateRevoked"))
    failed = transcript.events("ev", SessionFailed)
    assert [(f.request, f.response_code) for f in failed] == [
        ("AuthorizationReq", "FAILED_CertificateRevoked")
    ]
    assert (ev.outcome, secc.outcome) == ("Failed", "Failed")


def test_without_a_backend_answer_the_ev_gets_no_certificate_available() -> None:
    ev = EvccSession(EvPolicy(protocols=("iso2",), payment="Contract", credentials=credentials("iso2")))
    secc = SeccSession(SeccConfig())
    transcript = run(ev, secc, listener=charger_app(secc, None))
    failed = transcript.events("ev", SessionFailed)
    assert [(f.request, f.response_code) for f in failed] == [
        ("CertificateInstallationReq", "FAILED_NoCertificateAvailable")
    ]
