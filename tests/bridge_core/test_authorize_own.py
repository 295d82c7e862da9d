"""Authorize with contract certificates this home issued: every status pair of the OCPP 2.0.1
errata 2023-12, revocation from the store, the registry's contract status, and the answers that
must not depend on cached state."""

from __future__ import annotations

import datetime as dt

import pytest
from bridge_helpers import EMAID, EMAID_2, Home, authorize_payload, chain_pem, pair, pem, run

from pki.contracts import ContractStatus
from pki.profiles import ProfileName, Role
from pnc.core.bridge import BridgeSettings

FRESH = BridgeSettings(contract_cache_ttl=0.0)


def test_valid_chain_of_an_unregistered_emaid_is_accepted(home: Home) -> None:
    issued = home.contract()
    answer = run(home.core().authorize(authorize_payload(certificate=chain_pem(issued))))
    assert answer == {"idTokenInfo": {"status": "Accepted"}, "certificateStatus": "Accepted"}


def test_iso15118_20_contract_chains_are_accepted_too(home: Home) -> None:
    issued = home.contract(profile=ProfileName.ISO15118_20)
    answer = run(home.core().authorize(authorize_payload(certificate=chain_pem(issued))))
    assert pair(answer) == ("Accepted", "Accepted")


def test_the_leaf_alone_is_completed_with_the_homes_mo_sub_cas(home: Home) -> None:
    issued = home.contract()
    answer = run(home.core().authorize(authorize_payload(certificate=pem(issued.certificate))))
    assert pair(answer) == ("Accepted", "Accepted")


def test_the_emaid_may_be_spelled_with_separators_and_without_check_character(home: Home) -> None:
    issued = home.contract()
    payload = authorize_payload("DE-8AA-CA2B3C4D5", certificate=chain_pem(issued))
    assert pair(run(home.core().authorize(payload))) == ("Accepted", "Accepted")


@pytest.mark.parametrize(
    ("status", "token"),
    [
        (ContractStatus.ACTIVE, "Accepted"),
        (ContractStatus.BLOCKED, "Blocked"),
        (ContractStatus.EXPIRED, "Expired"),
    ],
)
def test_the_registry_status_of_the_emaid_decides_for_a_valid_chain(
    home: Home, status: ContractStatus, token: str
) -> None:
    core = home.core(FRESH)
    core.registry.add(EMAID, status=status)
    answer = run(core.authorize(authorize_payload(certificate=chain_pem(home.contract()))))
    expected = ("Accepted", "Accepted") if token == "Accepted" else ("ContractCancelled", token)
    assert pair(answer) == expected


def test_an_active_contract_past_its_valid_to_is_cancelled_as_expired(home: Home) -> None:
    core = home.core(FRESH)
    yesterday = (home.service.clock() - dt.timedelta(days=1)).date()
    core.registry.add(EMAID, valid_to=yesterday)
    answer = run(core.authorize(authorize_payload(certificate=chain_pem(home.contract()))))
    assert pair(answer) == ("ContractCancelled", "Expired")


def test_registration_required_turns_an_unknown_emaid_into_contract_cancelled_unknown(home: Home) -> None:
    core = home.core(BridgeSettings(require_registered_contract=True))
    answer = run(core.authorize(authorize_payload(certificate=chain_pem(home.contract()))))
    assert pair(answer) == ("ContractCancelled", "Unknown")


def test_blocking_a_contract_counts_after_the_cache_ttl(home: Home) -> None:
    core = home.core(BridgeSettings(contract_cache_ttl=30.0))
    core.registry.add(EMAID)
    payload = authorize_payload(certificate=chain_pem(home.contract()))
    assert pair(run(core.authorize(payload))) == ("Accepted", "Accepted")
    core.registry.block(EMAID)
    assert pair(run(core.authorize(payload))) == ("Accepted", "Accepted")  # cached
    core.forget_contract("DE-8AA-CA2B3C4D5")
    assert pair(run(core.authorize(payload))) == ("ContractCancelled", "Blocked")


def test_an_expired_contract_certificate_is_certificate_expired(home: Home) -> None:
    issued = home.contract(validity_days=30)
    core = home.core_at(home.service.clock() + dt.timedelta(days=31))
    answer = run(core.authorize(authorize_payload(certificate=chain_pem(issued))))
    assert pair(answer) == ("CertificateExpired", "Expired")


def test_a_certificate_valid_only_later_is_a_chain_error(home: Home) -> None:
    issued = home.contract()
    core = home.core_at(home.service.clock() - dt.timedelta(days=1))
    answer = run(core.authorize(authorize_payload(certificate=chain_pem(issued))))
    assert pair(answer) == ("CertChainError", "Invalid")


def test_a_chain_valid_when_cached_is_expired_when_the_clock_passes_its_end(home: Home) -> None:
    issued = home.contract(validity_days=1)
    payload = authorize_payload(certificate=chain_pem(issued))
    core = home.core()
    assert pair(run(core.authorize(payload))) == ("Accepted", "Accepted")
    later = home.core_at(home.service.clock() + dt.timedelta(days=2))
    assert pair(run(later.authorize(payload))) == ("CertificateExpired", "Expired")


def test_a_revoked_contract_certificate_is_certificate_revoked_even_after_an_accepted_answer(
    home: Home,
) -> None:
    issued = home.contract()
    payload = authorize_payload(certificate=chain_pem(issued))
    core = home.core()
    assert pair(run(core.authorize(payload))) == ("Accepted", "Accepted")
    home.service.revoke(issued.serial, "key-compromise")
    assert pair(run(core.authorize(payload))) == ("CertificateRevoked", "Invalid")


def test_a_revocation_by_another_process_counts_within_the_refresh_interval(home: Home) -> None:
    issued = home.contract()
    payload = authorize_payload(certificate=chain_pem(issued))
    core = home.core()
    core.epoch.refresh_interval = 0.0
    assert pair(run(core.authorize(payload))) == ("Accepted", "Accepted")
    other = home.make_service()  # another process's CA service on the same store
    try:
        other.revoke(issued.serial, "superseded")
    finally:
        other.close()
    assert pair(run(core.authorize(payload))) == ("CertificateRevoked", "Invalid")


def test_a_revoked_mo_sub_ca_revokes_every_contract_below_it(home: Home) -> None:
    issued = home.contract()
    core = home.core()
    sub2 = home.service.ca_record(Role.MO_SUB2.value, ProfileName.ISO15118_2)
    home.service.revoke(sub2.serial_hex, "ca-compromise")
    answer = run(core.authorize(authorize_payload(certificate=chain_pem(issued))))
    assert pair(answer) == ("CertificateRevoked", "Invalid")


def test_a_certificate_for_another_emaid_than_the_token_is_a_chain_error(home: Home) -> None:
    issued = home.contract()
    payload = authorize_payload(EMAID_2, certificate=chain_pem(issued))
    assert pair(run(home.core().authorize(payload))) == ("CertChainError", "Invalid")


def test_a_chain_with_a_broken_signature_is_a_chain_error(home: Home) -> None:
    issued = home.contract()
    der = bytearray(issued.certificate)
    der[-3] ^= 0x01  # inside the signature value
    answer = run(home.core().authorize(authorize_payload(certificate=pem(bytes(der), *issued.chain))))
    assert pair(answer) == ("CertChainError", "Invalid")


def test_a_certificate_that_is_no_contract_certificate_is_a_chain_error(home: Home) -> None:
    secc = home.service.issue_leaf(Role.SECC, "DE*ICE*E45B*78C", profile=ProfileName.ISO15118_2)
    answer = run(home.core().authorize(authorize_payload(certificate=chain_pem(secc))))
    assert pair(answer) == ("CertChainError", "Invalid")


def test_five_certificates_are_a_chain_error(home: Home) -> None:
    issued = home.contract()
    roots = home.service.roots(ProfileName.ISO15118_2)
    text = pem(issued.certificate, *issued.chain, roots[Role.MO_ROOT], roots[Role.V2G_ROOT])
    answer = run(home.core().authorize(authorize_payload(certificate=text)))
    assert pair(answer) == ("CertChainError", "Invalid")


def test_a_contract_signed_by_our_sub_ca_but_unknown_to_the_store_is_a_chain_error(home: Home) -> None:
    from sqlalchemy import text

    issued = home.contract()
    with home.service.store.engine.begin() as conn:
        conn.execute(text("DELETE FROM certificates WHERE serial_hex = :s"), {"s": issued.serial})
    answer = run(home.core().authorize(authorize_payload(certificate=chain_pem(issued))))
    assert pair(answer) == ("CertChainError", "Invalid")
