"""GetCertificateStatus: our own CAs answered by the home's responder without HTTP, other CAs'
responses fetched from responderURL (real HTTP), cached until nextUpdate; failures answered."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from bridge_helpers import BlackHole, ForeignPki, Home, RedirectFetcher, hash_entry, run

from pki.contracts import canonical_emaid
from pki.ocsp import check_response, parse_response
from pki.profiles import ProfileName, Role
from pki.revocation import CertStatus
from pnc.core.bridge import BridgeSettings
from pnc.core.errors import PayloadError


def _status_of(answer: dict[str, object], issuer: bytes) -> CertStatus:
    assert answer["status"] == "Accepted", answer
    der = base64.b64decode(str(answer["ocspResult"]), validate=True)
    parsed = check_response(parse_response(der), issuer, dt.datetime.now(dt.UTC))
    [single] = parsed.statuses
    return single.cert_status


def test_a_sub_ca_of_ours_is_answered_by_our_responder_without_http(home: Home) -> None:
    sub2 = home.ca_der(Role.CPO_SUB2)
    sub1 = home.ca_der(Role.CPO_SUB1)
    fetcher = RedirectFetcher()
    core = home.core(ocsp_fetcher=fetcher)
    answer = run(
        core.get_certificate_status({"ocspRequestData": hash_entry(sub2, sub1, "http://127.0.0.1:1/ocsp")})
    )
    assert _status_of(answer, sub1) is CertStatus.GOOD
    assert fetcher.urls == []


def test_a_revoked_certificate_of_ours_is_reported_revoked(home: Home) -> None:
    issued = home.contract()
    home.service.revoke(issued.serial, "key-compromise")
    data = hash_entry(issued.certificate, issued.chain[0], "http://127.0.0.1:1/ocsp", "SHA384")
    answer = run(home.core().get_certificate_status({"ocspRequestData": data}))
    assert _status_of(answer, issued.chain[0]) is CertStatus.REVOKED


def test_a_foreign_certificate_status_is_fetched_from_the_responder_url_and_cached(
    home: Home, foreign: ForeignPki
) -> None:
    issued = foreign.contract("FRFMOB000000001" if False else canonical_emaid("FRFMO100000001"))
    fetcher = RedirectFetcher()
    core = home.core(ocsp_fetcher=fetcher)
    request = {"ocspRequestData": hash_entry(issued.certificate, issued.chain[0], foreign.ocsp_url)}
    answer = run(core.get_certificate_status(request))
    assert _status_of(answer, issued.chain[0]) is CertStatus.GOOD
    assert fetcher.urls == [foreign.ocsp_url]

    async def twice() -> None:
        await core.get_certificate_status(request)
        await core.get_certificate_status(request)

    run(twice())
    assert fetcher.urls == [foreign.ocsp_url]


def test_an_unreachable_responder_gets_failed_with_the_reason(home: Home, foreign: ForeignPki) -> None:
    issued = foreign.contract(canonical_emaid("FRFMO100000002"))
    hole = BlackHole()
    try:
        core = home.core(BridgeSettings(ocsp_timeout=0.2), ocsp_fetcher=RedirectFetcher(hole.url))
        request = {"ocspRequestData": hash_entry(issued.certificate, issued.chain[0], foreign.ocsp_url)}
        answer = run(core.get_certificate_status(request))
    finally:
        hole.close()
    assert answer["status"] == "Failed"
    assert answer["statusInfo"]["reasonCode"] == "timeout"  # type: ignore[index]


def test_a_responder_url_outside_the_allowed_hosts_is_refused(home: Home, foreign: ForeignPki) -> None:
    issued = foreign.contract(canonical_emaid("FRFMO100000003"))
    fetcher = RedirectFetcher()
    core = home.core(BridgeSettings(ocsp_allowed_hosts=frozenset({"ocsp.example.com"})), ocsp_fetcher=fetcher)
    request = {"ocspRequestData": hash_entry(issued.certificate, issued.chain[0], foreign.ocsp_url)}
    answer = run(core.get_certificate_status(request))
    assert answer["status"] == "Failed" and answer["statusInfo"]["reasonCode"] == "refused-url"  # type: ignore[index]
    assert fetcher.urls == []


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"ocspRequestData": "abc"},
        {"ocspRequestData": {"hashAlgorithm": "SHA256"}},
    ],
)
def test_malformed_requests_are_payload_errors(home: Home, payload: dict[str, object]) -> None:
    with pytest.raises(PayloadError):
        run(home.core().get_certificate_status(payload))


def test_the_iso15118_20_sub_cas_are_ours_too(home: Home) -> None:
    sub2 = home.ca_der(Role.CPO_SUB2, ProfileName.ISO15118_20)
    sub1 = home.ca_der(Role.CPO_SUB1, ProfileName.ISO15118_20)
    answer = run(home.core().get_certificate_status({"ocspRequestData": hash_entry(sub2, sub1, "http://x/")}))
    assert _status_of(answer, sub1) is CertStatus.GOOD
