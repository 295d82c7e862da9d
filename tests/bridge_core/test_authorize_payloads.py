"""Authorize requests that are not contract chains: malformed payloads (a PayloadError naming the
field, nothing written), oversized and garbage chains, and tokens without a certificate."""

from __future__ import annotations

from typing import Any

import pytest
from bridge_helpers import EMAID, Home, authorize_payload, chain_pem, pair, pem, run

from pki.contracts import ContractStatus
from pki.profiles import ProfileName, Role
from pnc.core.bridge import BridgeSettings
from pnc.core.errors import PayloadError


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ([], "payload"),
        ({}, "idToken"),
        ({"idToken": "DE8AACA2B3C4D5L"}, "idToken"),
        ({"idToken": {"type": "eMAID"}}, "idToken.idToken"),
        ({"idToken": {"idToken": EMAID}}, "idToken.type"),
        ({"idToken": {"idToken": 42, "type": "eMAID"}}, "idToken.idToken"),
        ({"idToken": {"idToken": "A" * 37, "type": "eMAID"}}, "idToken.idToken"),
        ({"idToken": {"idToken": "not-an-emaid", "type": "eMAID"}}, "idToken.idToken"),
        ({"idToken": {"idToken": EMAID, "type": "ISO14443"}, "certificate": "x"}, "idToken.type"),
        ({"idToken": {"idToken": EMAID, "type": "eMAID"}, "certificate": 7}, "certificate"),
        ({"idToken": {"idToken": EMAID, "type": "eMAID"}, "certificate": "no PEM here"}, "certificate"),
        (
            {
                "idToken": {"idToken": EMAID, "type": "eMAID"},
                "certificate": "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n",
            },
            "certificate",
        ),
        (
            {
                "idToken": {"idToken": EMAID, "type": "eMAID"},
                "certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            },
            "certificate",
        ),
        (
            {"idToken": {"idToken": EMAID, "type": "eMAID"}, "iso15118CertificateHashData": {}},
            "iso15118CertificateHashData",
        ),
    ],
)
def test_malformed_authorize_requests_are_payload_errors_naming_the_field(
    home: Home, payload: Any, field: str
) -> None:
    before = home.snapshot()
    with pytest.raises(PayloadError) as caught:
        run(home.core().authorize(payload))
    assert caught.value.field == field
    assert home.snapshot() == before


def test_a_chain_of_forty_certificates_is_refused_before_it_is_parsed(home: Home) -> None:
    issued = home.contract()
    text = pem(*([issued.certificate] * 40))
    with pytest.raises(PayloadError) as caught:
        run(home.core().authorize(authorize_payload(certificate=text)))
    assert caught.value.field == "certificate" and "10000" in caught.value.detail


def test_the_leaf_repeated_within_the_length_limit_is_a_chain_error(home: Home) -> None:
    issued = home.contract()
    answer = run(home.core().authorize(authorize_payload(certificate=pem(*([issued.certificate] * 6)))))
    assert pair(answer) == ("CertChainError", "Invalid")


def test_the_root_at_the_end_of_the_chain_is_tolerated(home: Home) -> None:
    issued = home.contract()
    root = home.service.roots(ProfileName.ISO15118_2)[Role.MO_ROOT]
    answer = run(
        home.core().authorize(authorize_payload(certificate=pem(issued.certificate, *issued.chain, root)))
    )
    assert pair(answer) == ("Accepted", "Accepted")


@pytest.mark.parametrize(
    ("status", "token"),
    [
        (None, "Unknown"),
        (ContractStatus.ACTIVE, "Accepted"),
        (ContractStatus.BLOCKED, "Blocked"),
        (ContractStatus.EXPIRED, "Expired"),
    ],
)
def test_an_emaid_without_certificate_gets_the_registry_status_and_no_certificate_status(
    home: Home, status: ContractStatus | None, token: str
) -> None:
    core = home.core()
    if status is not None:
        core.registry.add(EMAID, status=status)
    assert run(core.authorize(authorize_payload())) == {"idTokenInfo": {"status": token}}


def test_other_token_types_are_unknown_here(home: Home) -> None:
    payload = {"idToken": {"idToken": "04A2B3C4D5E6F7", "type": "ISO14443"}}
    assert run(home.core().authorize(payload)) == {"idTokenInfo": {"status": "Unknown"}}


def test_with_both_certificate_and_hash_data_the_certificate_decides(home: Home) -> None:
    issued = home.contract()
    home.service.revoke(issued.serial, "key-compromise")
    good = home.contract("DEPNCA00000001B")
    from bridge_helpers import hash_entry

    entries = [hash_entry(good.certificate, good.chain[0], "http://127.0.0.1:1/ocsp")]
    payload = authorize_payload(certificate=chain_pem(issued), hash_data=entries)
    assert pair(run(home.core(BridgeSettings()).authorize(payload))) == ("CertificateRevoked", "Invalid")
