"""Authorize with contract chains of another PKI (a foreign MO whose OCSP responder runs over real
HTTP), and with OCSP hash data of ours and theirs; timeouts, refused URLs, caching."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from bridge_helpers import (
    EMAID,
    BlackHole,
    ForeignPki,
    Home,
    RedirectFetcher,
    authorize_payload,
    chain_pem,
    hash_entry,
    pair,
    run,
)

from pki.ca import IssuedCertificate
from pki.contracts import ContractStatus
from pnc.core.bridge import BridgeCore, BridgeSettings
from pnc.core.errors import PayloadError


def _foreign_contract(foreign: ForeignPki, serial_tag: int) -> IssuedCertificate:
    """A contract of the foreign MO (distinct eMAIDs keep session-wide revocations apart)."""
    from pki.contracts import canonical_emaid

    return foreign.contract(canonical_emaid(f"FRFMO{serial_tag:09d}"))


def _core(
    home: Home, foreign: ForeignPki, fetcher: RedirectFetcher | None = None, **settings: object
) -> BridgeCore:
    options: dict[str, object] = {"extra_trust_anchors": foreign.roots(), **settings}
    return home.core(BridgeSettings(**options), ocsp_fetcher=fetcher or RedirectFetcher())  # type: ignore[arg-type]


def _hash_data(issued: IssuedCertificate, url: str) -> list[dict[str, str]]:
    """Hash data of a contract chain: the leaf and the two sub-CAs (each with its issuer)."""
    leaf, sub2, sub1 = issued.certificate, *issued.chain
    return [hash_entry(leaf, sub2, url), hash_entry(sub2, sub1, url)]


def test_a_valid_foreign_chain_is_accepted_after_ocsp_for_leaf_and_sub_cas(
    home: Home, foreign: ForeignPki
) -> None:
    issued = _foreign_contract(foreign, 1)
    fetcher = RedirectFetcher()
    core = _core(home, foreign, fetcher)
    payload = authorize_payload(_emaid(issued), certificate=chain_pem(issued))
    assert pair(run(core.authorize(payload))) == ("Accepted", "Accepted")
    assert fetcher.urls == [foreign.ocsp_url] * 3  # leaf, MO Sub-CA 2, MO Sub-CA 1
    assert pair(run(core.authorize(payload))) == ("Accepted", "Accepted")
    assert len(fetcher.urls) == 3  # answers cached until nextUpdate


def _emaid(issued: IssuedCertificate) -> str:
    from pki.certinfo import parse_certificate

    return parse_certificate(issued.certificate).common_name


def test_a_foreign_chain_is_a_chain_error_without_its_roots(home: Home, foreign: ForeignPki) -> None:
    issued = _foreign_contract(foreign, 2)
    core = home.core(ocsp_fetcher=RedirectFetcher())
    answer = run(core.authorize(authorize_payload(_emaid(issued), certificate=chain_pem(issued))))
    assert pair(answer) == ("CertChainError", "Invalid")


def test_a_foreign_contract_revoked_at_its_ca_is_certificate_revoked(home: Home, foreign: ForeignPki) -> None:
    issued = _foreign_contract(foreign, 3)
    foreign.home.service.revoke(issued.serial, "key-compromise")
    core = _core(home, foreign)
    answer = run(core.authorize(authorize_payload(_emaid(issued), certificate=chain_pem(issued))))
    assert pair(answer) == ("CertificateRevoked", "Invalid")


def test_a_registry_block_applies_to_foreign_contracts_too(home: Home, foreign: ForeignPki) -> None:
    issued = _foreign_contract(foreign, 4)
    core = _core(home, foreign)
    core.registry.add(_emaid(issued), status=ContractStatus.BLOCKED)
    answer = run(core.authorize(authorize_payload(_emaid(issued), certificate=chain_pem(issued))))
    assert pair(answer) == ("ContractCancelled", "Blocked")


def test_a_hung_responder_times_out_into_a_chain_error_and_is_not_asked_again_at_once(
    home: Home, foreign: ForeignPki
) -> None:
    issued = _foreign_contract(foreign, 5)
    hole = BlackHole()
    try:
        fetcher = RedirectFetcher(hole.url)
        core = _core(home, foreign, fetcher, ocsp_timeout=0.3)
        payload = authorize_payload(_emaid(issued), certificate=chain_pem(issued))
        started = time.monotonic()
        assert pair(run(core.authorize(payload))) == ("CertChainError", "Invalid")
        assert time.monotonic() - started < 2.0  # three fetches in parallel, each cut at 0.3 s
        fetched = len(fetcher.urls)
        result = run(core.authorize_result(payload))
        assert pair(result.payload()) == ("CertChainError", "Invalid") and "0.3 s" in result.detail
        assert len(fetcher.urls) == fetched  # the failure is remembered for a few seconds
    finally:
        hole.close()


def test_a_responder_that_refuses_connections_is_a_chain_error(home: Home, foreign: ForeignPki) -> None:
    from bridge_helpers import free_port

    issued = _foreign_contract(foreign, 6)
    core = _core(home, foreign, RedirectFetcher(f"http://127.0.0.1:{free_port()}/ocsp"))
    answer = run(core.authorize(authorize_payload(_emaid(issued), certificate=chain_pem(issued))))
    assert pair(answer) == ("CertChainError", "Invalid")


def test_an_answer_signed_by_another_ca_does_not_verify(home: Home, foreign: ForeignPki) -> None:
    """The foreign certificates' responder URL aimed at our own responder: it answers
    'unauthorized' for CAs it does not hold, which is no usable answer."""
    import threading

    import uvicorn
    from bridge_helpers import free_port

    from pnc.ocsp_http import OcspApp

    issued = _foreign_contract(foreign, 7)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            OcspApp(home.core().responder), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        core = _core(home, foreign, RedirectFetcher(f"http://127.0.0.1:{port}/"))
        answer = run(core.authorize(authorize_payload(_emaid(issued), certificate=chain_pem(issued))))
        assert pair(answer) == ("CertChainError", "Invalid")
    finally:
        server.should_exit = True
        thread.join(5)


# -- hash data


def test_hash_data_of_our_own_contract_is_answered_from_the_store(home: Home) -> None:
    issued = home.contract()
    fetcher = RedirectFetcher()
    core = home.core(ocsp_fetcher=fetcher)
    payload = authorize_payload(hash_data=_hash_data(issued, "http://127.0.0.1:1/ocsp"))
    assert pair(run(core.authorize(payload))) == ("Accepted", "Accepted")
    assert fetcher.urls == []  # no network for our own CAs
    home.service.revoke(issued.serial, "key-compromise")
    assert pair(run(core.authorize(payload))) == ("CertificateRevoked", "Invalid")


def test_hash_data_of_an_expired_contract_of_ours_is_certificate_expired(home: Home) -> None:
    issued = home.contract(validity_days=1)
    core = home.core_at(home.service.clock() + dt.timedelta(days=2))
    payload = authorize_payload(hash_data=_hash_data(issued, "http://127.0.0.1:1/ocsp"))
    assert pair(run(core.authorize(payload))) == ("CertificateExpired", "Expired")


def test_hash_data_naming_a_serial_our_ca_never_issued_is_a_chain_error(home: Home) -> None:
    issued = home.contract()
    entries = _hash_data(issued, "http://127.0.0.1:1/ocsp")
    entries[0]["serialNumber"] = "abcdef1234"
    answer = run(home.core().authorize(authorize_payload(hash_data=entries)))
    assert pair(answer) == ("CertChainError", "Invalid")


def test_hash_data_of_our_contract_follows_the_registry(home: Home) -> None:
    from pki.contracts import ContractStatus

    core = home.core()
    core.registry.add(EMAID, status=ContractStatus.EXPIRED)
    payload = authorize_payload(hash_data=_hash_data(home.contract(), "http://127.0.0.1:1/ocsp"))
    assert pair(run(core.authorize(payload))) == ("ContractCancelled", "Expired")


def test_foreign_hash_data_is_checked_by_ocsp_at_the_responder_url(home: Home, foreign: ForeignPki) -> None:
    issued = _foreign_contract(foreign, 8)
    sub_cas = tuple(issued.chain)
    core = _core(home, foreign, extra_ca_certificates=sub_cas)
    payload = authorize_payload(_emaid(issued), hash_data=_hash_data(issued, foreign.ocsp_url))
    assert pair(run(core.authorize(payload))) == ("Accepted", "Accepted")
    foreign.home.service.revoke(issued.serial, "superseded")
    fresh = _core(home, foreign, extra_ca_certificates=sub_cas)
    assert pair(run(fresh.authorize(payload))) == ("CertificateRevoked", "Invalid")


def test_foreign_hash_data_whose_issuer_is_unknown_cannot_be_verified(
    home: Home, foreign: ForeignPki
) -> None:
    issued = _foreign_contract(foreign, 9)
    core = _core(home, foreign)  # the foreign sub-CAs are neither configured nor seen
    payload = authorize_payload(_emaid(issued), hash_data=_hash_data(issued, foreign.ocsp_url))
    result = run(core.authorize_result(payload))
    assert pair(result.payload()) == ("CertChainError", "Invalid") and "cannot be verified" in result.detail


def test_a_foreign_chain_seen_once_lets_its_hash_data_verify(home: Home, foreign: ForeignPki) -> None:
    issued = _foreign_contract(foreign, 10)
    core = _core(home, foreign)
    run(core.authorize(authorize_payload(_emaid(issued), certificate=chain_pem(issued))))
    payload = authorize_payload(_emaid(issued), hash_data=_hash_data(issued, foreign.ocsp_url))
    assert pair(run(core.authorize(payload))) == ("Accepted", "Accepted")


def test_a_serial_the_foreign_responder_does_not_know_is_a_chain_error(
    home: Home, foreign: ForeignPki
) -> None:
    issued = _foreign_contract(foreign, 11)
    core = _core(home, foreign, extra_ca_certificates=tuple(issued.chain))
    entries = _hash_data(issued, foreign.ocsp_url)
    entries[0]["serialNumber"] = "1234abcd"
    answer = run(core.authorize(authorize_payload(_emaid(issued), hash_data=entries)))
    assert pair(answer) == ("CertChainError", "Invalid")


@pytest.mark.parametrize(
    "url",
    ["http://10.0.0.1/ocsp", "file:///etc/passwd", "ftp://127.0.0.1/ocsp", "not a url"],
)
def test_responder_urls_outside_the_allowed_hosts_are_never_fetched(
    home: Home, foreign: ForeignPki, url: str
) -> None:
    issued = _foreign_contract(foreign, 12)
    fetcher = RedirectFetcher()
    core = _core(home, foreign, fetcher, ocsp_allowed_hosts=frozenset({"127.0.0.1"}))
    entries = _hash_data(issued, url)
    answer = run(core.authorize(authorize_payload(_emaid(issued), hash_data=entries)))
    assert pair(answer) == ("CertChainError", "Invalid")
    assert fetcher.urls == []


# -- malformed hash data


def _entry(home: Home) -> dict[str, str]:
    issued = home.contract()
    return hash_entry(issued.certificate, issued.chain[0], "http://127.0.0.1:1/ocsp")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"serialNumber": "0abc"}, "iso15118CertificateHashData[0].serialNumber"),
        ({"serialNumber": "0xabc"}, "iso15118CertificateHashData[0].serialNumber"),
        ({"serialNumber": "12:34"}, "iso15118CertificateHashData[0].serialNumber"),
        ({"serialNumber": "a" * 41}, "iso15118CertificateHashData[0].serialNumber"),
        ({"issuerNameHash": "q83vEjRWeJA="}, "iso15118CertificateHashData[0].issuerNameHash"),
        ({"issuerKeyHash": "ab" * 20}, "iso15118CertificateHashData[0].issuerKeyHash"),
        ({"hashAlgorithm": "SHA1"}, "iso15118CertificateHashData[0].hashAlgorithm"),
        ({"hashAlgorithm": None}, "iso15118CertificateHashData[0].hashAlgorithm"),
        ({"responderURL": None}, "iso15118CertificateHashData[0].responderURL"),
        ({"responderURL": "http://x/" + "a" * 600}, "iso15118CertificateHashData[0].responderURL"),
    ],
)
def test_malformed_hash_data_is_a_payload_error_never_a_match(
    home: Home, change: dict[str, object], field: str
) -> None:
    entry = {**_entry(home), **change}
    entry = {k: v for k, v in entry.items() if v is not None}
    with pytest.raises(PayloadError) as caught:
        run(home.core().authorize(authorize_payload(hash_data=[entry])))  # type: ignore[list-item]
    assert caught.value.field == field


def test_upper_case_hex_hashes_and_serial_are_the_same_certificate(home: Home) -> None:
    entry = {
        k: (v.upper() if k != "responderURL" and k != "hashAlgorithm" else v) for k, v in _entry(home).items()
    }
    assert pair(run(home.core().authorize(authorize_payload(hash_data=[entry])))) == ("Accepted", "Accepted")


@pytest.mark.parametrize("count", [0, 5])
def test_hash_data_has_one_to_four_entries(home: Home, count: int) -> None:
    with pytest.raises(PayloadError) as caught:
        run(home.core().authorize(authorize_payload(hash_data=[_entry(home)] * count)))
    assert caught.value.field == "iso15118CertificateHashData"


def test_a_hash_data_entry_that_is_no_object_is_a_payload_error(home: Home) -> None:
    with pytest.raises(PayloadError) as caught:
        run(home.core().authorize(authorize_payload(hash_data=["abc"])))  # type: ignore[list-item]
    assert caught.value.field == "iso15118CertificateHashData[0]"


def test_concurrent_authorizes_of_one_foreign_chain_share_one_fetch_per_certificate(
    home: Home, foreign: ForeignPki
) -> None:
    import asyncio

    issued = _foreign_contract(foreign, 13)
    fetcher = RedirectFetcher()
    core = _core(home, foreign, fetcher)
    payload = authorize_payload(_emaid(issued), certificate=chain_pem(issued))

    async def burst() -> list[dict[str, object]]:
        return await asyncio.gather(*(core.authorize(payload) for _ in range(50)))

    answers = run(burst())
    assert all(pair(a) == ("Accepted", "Accepted") for a in answers)  # type: ignore[arg-type]
    assert len(fetcher.urls) == 3
