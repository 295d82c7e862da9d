"""SignCertificate and CertificateSigned: CSR checks, the chain sent, retries, stations that are
away, restarts, superseded requests, and what the store holds afterwards."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from bridge_helpers import EVSE_ID, SECC_ID, Home, Station, make_csr, run
from cryptography.hazmat.primitives.asymmetric import ec

from pki.certinfo import load_pem_chain, parse_certificate
from pki.profiles import ProfileName, Role
from pnc.core.bridge import BridgeCore, BridgeSettings
from pnc.core.errors import PayloadError, StationOffline
from pnc.core.signing import SignJobRunner

QUICK = BridgeSettings(sign_retry_delays=(0.01, 0.02))


async def _sign(
    core: BridgeCore, station: Station, station_id: str, payload: dict[str, Any]
) -> tuple[dict[str, Any], SignJobRunner]:
    runner = SignJobRunner(core, station.deliver)
    await runner.start()
    try:
        answer = await core.sign_certificate(station_id, payload)
        await runner.wait_idle()
    finally:
        await runner.stop()
    return answer, runner


def _jobs(core: BridgeCore) -> list[tuple[str, str, int, str | None]]:
    return [(j.status, j.certificate_type, j.attempts, j.serial_hex) for j in core.signing.jobs.list()]


def test_a_v2g_csr_is_accepted_signed_by_cpo_sub_ca_2_and_delivered_without_the_root(home: Home) -> None:
    core = home.core(QUICK)
    station = Station()
    payload = {"csr": make_csr(SECC_ID), "certificateType": "V2GCertificate"}
    answer, _ = run(_sign(core, station, "CS-1", payload))
    assert answer == {"status": "Accepted"}
    [(station_id, signed)] = station.received
    assert station_id == "CS-1" and signed["certificateType"] == "V2GCertificate"
    chain = [parse_certificate(d) for d in load_pem_chain(signed["certificateChain"])]
    assert [c.subject.common_name for c in chain] == [SECC_ID, "CPO Sub-CA 2 15118-2", "CPO Sub-CA 1 15118-2"]
    leaf = chain[0]
    assert leaf.subject.domain_component == "CPO" and leaf.subject.organization == "Test CA"
    assert leaf.issuer_der == chain[1].subject_der
    [(status, _, attempts, serial)] = _jobs(core)
    assert (status, attempts, serial) == ("delivered", 1, leaf.serial_hex)
    actions = home.audit_actions()
    assert actions[-3:] == ["sign-request", "issue", "sign-delivered"]


def test_an_evse_id_is_a_valid_v2g_cn_under_iso15118_2(home: Home) -> None:
    core = home.core(QUICK)
    answer, _ = run(
        _sign(core, Station(), "CS-1", {"csr": make_csr(EVSE_ID), "certificateType": "V2GCertificate"})
    )
    assert answer == {"status": "Accepted"}
    assert _jobs(core)[0][0] == "delivered"


def test_a_p521_v2g_csr_is_signed_under_iso15118_20(home: Home) -> None:
    core = home.core(QUICK)
    station = Station()
    payload = {"csr": make_csr(SECC_ID, curve=ec.SECP521R1()), "certificateType": "V2GCertificate"}
    answer, _ = run(_sign(core, station, "CS-1", payload))
    assert answer == {"status": "Accepted"}
    chain = load_pem_chain(station.received[0][1]["certificateChain"])
    assert parse_certificate(chain[1]).subject.common_name == "CPO Sub-CA 2 15118-20"


def test_a_charging_station_csr_gets_a_client_certificate_of_the_cso_ca(home: Home) -> None:
    core = home.core(QUICK)
    station = Station()
    payload = {"csr": make_csr("CS-7", dc=None), "certificateType": "ChargingStationCertificate"}
    answer, _ = run(_sign(core, station, "CS-7", payload))
    assert answer == {"status": "Accepted"}
    [leaf_der] = load_pem_chain(station.received[0][1]["certificateChain"])  # the CSO CA is the root
    leaf = parse_certificate(leaf_der)
    cso = home.service.ca_record(Role.CSO_ROOT.value, ProfileName.ISO15118_2)
    assert (
        leaf.common_name == "CS-7" and leaf.issuer_der == parse_certificate(cso.certificate_der).subject_der
    )


def test_without_certificate_type_one_csr_gets_both_certificates(home: Home) -> None:
    core = home.core(QUICK)
    station = Station()
    answer, _ = run(_sign(core, station, EVSE_ID, {"csr": make_csr(EVSE_ID, dc=None)}))
    assert answer == {"status": "Accepted"}
    assert sorted(p["certificateType"] for _, p in station.received) == [
        "ChargingStationCertificate",
        "V2GCertificate",
    ]
    assert [j[0] for j in _jobs(core)] == ["delivered", "delivered"]


@pytest.mark.parametrize(
    ("station_id", "payload", "why"),
    [
        ("CS-1", {"csr": "this is not a CSR"}, "CSR"),
        (
            "CS-1",
            {"csr": "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"},
            "malformed",
        ),
        ("CS-1", {"csr": make_csr(SECC_ID, dc=None), "certificateType": "V2GCertificate"}, "DC=CPO"),
        ("CS-1", {"csr": make_csr(SECC_ID, dc="MO"), "certificateType": "V2GCertificate"}, "V2G2-925"),
        ("CS-1", {"csr": make_csr(SECC_ID, o="Someone Else"), "certificateType": "V2GCertificate"}, "O is"),
        ("CS-1", {"csr": make_csr(SECC_ID, c="FR"), "certificateType": "V2GCertificate"}, "C is"),
        ("CS-1", {"csr": make_csr("not a SECC ID"), "certificateType": "V2GCertificate"}, "SECC"),
        (
            "CS-1",
            {"csr": make_csr(SECC_ID, curve=ec.SECP384R1()), "certificateType": "V2GCertificate"},
            "secp384r1",
        ),
        (
            "CS-1",
            {"csr": make_csr("CS-2", dc=None), "certificateType": "ChargingStationCertificate"},
            "identity",
        ),
        (
            "CS-1",
            {"csr": make_csr("CS-1", o="Other", dc=None), "certificateType": "ChargingStationCertificate"},
            "O is",
        ),
        ("CS-1", {"csr": make_csr("CS-1", dc=None)}, "V2GCertificate"),  # combined: CS-1 is no SECC ID
    ],
)
def test_a_csr_that_does_not_qualify_is_rejected_and_nothing_but_an_audit_entry_is_written(
    home: Home, station_id: str, payload: dict[str, Any], why: str
) -> None:
    core = home.core(QUICK)
    before = home.snapshot()
    station = Station()
    answer, _ = run(_sign(core, station, station_id, payload))
    assert answer["status"] == "Rejected"
    assert answer["statusInfo"]["reasonCode"] == "InvalidCSR"
    assert why in answer["statusInfo"]["additionalInfo"]
    assert home.snapshot() == before and station.received == []
    assert home.audit_actions()[-1] == "sign-request-refused"


def test_a_csr_whose_self_signature_is_broken_is_rejected(home: Home) -> None:
    import base64

    from pki.csr import csr_der

    der = bytearray(csr_der(make_csr(SECC_ID)))
    der[-2] ^= 0x01
    text = base64.b64encode(bytes(der)).decode()
    answer = run(home.core().sign_certificate("CS-1", {"csr": text, "certificateType": "V2GCertificate"}))
    assert answer["status"] == "Rejected" and "self-signature" in answer["statusInfo"]["additionalInfo"]


@pytest.mark.parametrize(
    ("station_id", "payload", "field"),
    [
        ("CS-1", {}, "csr"),
        ("CS-1", {"csr": 17}, "csr"),
        ("CS-1", {"csr": "x" * 5501}, "csr"),
        ("CS-1", {"csr": make_csr(SECC_ID), "certificateType": "Combined"}, "certificateType"),
        ("CS:1", {"csr": make_csr(SECC_ID)}, "stationId"),
    ],
)
def test_malformed_sign_requests_raise_payload_errors_naming_the_field(
    home: Home, station_id: str, payload: dict[str, Any], field: str
) -> None:
    before = home.snapshot()
    with pytest.raises(PayloadError) as caught:
        run(home.core().sign_certificate(station_id, payload))
    assert caught.value.field == field
    assert home.snapshot() == before


def test_failed_deliveries_are_retried_with_the_delays_and_the_answer_is_recorded(home: Home) -> None:
    core = home.core(QUICK)
    station = Station(
        TimeoutError("no answer"), RuntimeError("CallError InternalError"), {"status": "Accepted"}
    )
    run(_sign(core, station, "CS-1", {"csr": make_csr(SECC_ID), "certificateType": "V2GCertificate"}))
    assert len(station.received) == 3
    assert len({p["certificateChain"] for _, p in station.received}) == 1  # signed once
    [(status, _, attempts, _)] = _jobs(core)
    assert (status, attempts) == ("delivered", 3)
    assert home.audit_actions().count("sign-attempt-failed") == 2


def test_a_job_whose_every_attempt_fails_ends_failed_with_the_last_error(home: Home) -> None:
    core = home.core(QUICK)
    station = Station(*(RuntimeError(f"attempt {i}") for i in range(1, 4)))
    run(_sign(core, station, "CS-1", {"csr": make_csr(SECC_ID), "certificateType": "V2GCertificate"}))
    [job] = core.signing.jobs.list()
    assert (job.status, job.attempts) == ("failed", 3)
    assert job.last_error is not None and "attempt 3" in job.last_error
    assert home.audit_actions()[-1] == "sign-failed"


def test_a_station_that_rejects_the_certificate_gets_it_revoked(home: Home) -> None:
    core = home.core(QUICK)
    station = Station({"status": "Rejected", "statusInfo": {"reasonCode": "InvalidCertificate"}})
    run(_sign(core, station, "CS-1", {"csr": make_csr(SECC_ID), "certificateType": "V2GCertificate"}))
    [job] = core.signing.jobs.list()
    assert job.status == "rejected" and "InvalidCertificate" in (job.last_error or "")
    assert job.serial_hex is not None and home.service.show(job.serial_hex).status == "revoked"


def test_an_offline_station_costs_no_attempt_and_gets_its_certificate_when_it_connects(home: Home) -> None:
    core = home.core(QUICK)
    station = Station(StationOffline("CS-1 is not connected"))

    async def scenario() -> None:
        runner = SignJobRunner(core, station.deliver)
        await runner.start()
        try:
            await core.sign_certificate(
                "CS-1", {"csr": make_csr(SECC_ID), "certificateType": "V2GCertificate"}
            )
            await runner.wait_idle()
            [job] = core.signing.jobs.list()
            assert (job.status, job.attempts) == ("signed", 0)
            assert runner.waiting_for("CS-1") == {job.id}
            runner.station_connected("CS-1")
            await runner.wait_idle()
        finally:
            await runner.stop()

    run(scenario())
    [(status, _, attempts, _)] = _jobs(core)
    assert (status, attempts) == ("delivered", 1)
    assert len(station.received) == 2


def test_the_servers_own_not_connected_error_can_count_as_offline(home: Home) -> None:
    class NotConnected(Exception):
        pass

    core = home.core(QUICK)
    station = Station(NotConnected("CS-1"))

    async def scenario() -> None:
        runner = SignJobRunner(core, station.deliver, offline_errors=(NotConnected,))
        await runner.start()
        try:
            await core.sign_certificate(
                "CS-1", {"csr": make_csr(SECC_ID), "certificateType": "V2GCertificate"}
            )
            await runner.wait_idle()
            assert len(runner.waiting_for("CS-1")) == 1
        finally:
            await runner.stop()

    run(scenario())
    [(status, _, attempts, _)] = _jobs(core)
    assert (status, attempts) == ("signed", 0)


def test_jobs_accepted_before_a_restart_are_signed_and_delivered_after_it(home: Home) -> None:
    issued_before = home.audit_actions().count("issue")
    first = home.core(QUICK)
    run(first.sign_certificate("CS-1", {"csr": make_csr(SECC_ID), "certificateType": "V2GCertificate"}))
    run(
        first.sign_certificate(
            "CS-2", {"csr": make_csr("CS-2", dc=None), "certificateType": "ChargingStationCertificate"}
        )
    )
    # the first job got signed before the "crash", the second did not
    job = first.signing.jobs.list()[0]
    signed = first.signing.sign(job)
    assert signed.status == "signed"
    first.close()

    second = home.core(QUICK)
    station = Station()

    async def after_restart() -> int:
        runner = SignJobRunner(second, station.deliver)
        await runner.start()
        try:
            await runner.wait_idle()
        finally:
            await runner.stop()
        return 0

    run(after_restart())
    assert [j[0] for j in _jobs(second)] == ["delivered", "delivered"]
    assert _jobs(second)[0][3] == signed.serial_hex  # the certificate issued before the restart
    assert home.audit_actions().count("issue") == issued_before + 2


def test_a_newer_request_supersedes_the_open_job_and_withdraws_its_certificate(home: Home) -> None:
    core = home.core(QUICK)
    run(core.sign_certificate("CS-1", {"csr": make_csr(SECC_ID), "certificateType": "V2GCertificate"}))
    old = core.signing.sign(core.signing.jobs.list()[0])
    run(core.sign_certificate("CS-1", {"csr": make_csr(SECC_ID), "certificateType": "V2GCertificate"}))
    jobs = core.signing.jobs.list()
    assert (jobs[0].status, jobs[0].last_error) == ("failed", "superseded by a newer SignCertificate")
    assert jobs[1].status == "pending"
    assert old.serial_hex is not None and home.service.show(old.serial_hex).status == "revoked"


def test_two_runners_on_one_store_sign_and_deliver_each_job_once(home: Home) -> None:
    issued_before = home.audit_actions().count("issue")
    a, b = home.core(QUICK), home.core(QUICK)
    station = Station()

    async def scenario() -> None:
        runners = [SignJobRunner(a, station.deliver), SignJobRunner(b, station.deliver)]
        for runner in runners:
            await runner.start()
        try:
            for i in range(4):
                await a.sign_certificate(
                    f"CS-{i}",
                    {"csr": make_csr(f"CS-{i}", dc=None), "certificateType": "ChargingStationCertificate"},
                )
            await runners[1].resume()  # process B sees the jobs process A recorded
            for runner in runners:
                await runner.wait_idle()
            await asyncio.sleep(0.05)
            for runner in runners:
                await runner.wait_idle()
        finally:
            for runner in runners:
                await runner.stop()

    run(scenario())
    assert sorted(s for s, _ in station.received) == [f"CS-{i}" for i in range(4)]
    assert [j[0] for j in _jobs(a)] == ["delivered"] * 4
    assert home.audit_actions().count("issue") == issued_before + 4
