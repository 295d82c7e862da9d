"""The OCSP responder core over the real store (SQLite and PostgreSQL): look-up by CertID, caches,
and invalidation when another process sharing the store revokes."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

from ops_helpers import PASSPHRASE

from pki.ca import CaService
from pki.certid import CertId
from pki.home import Home
from pki.ocsp import OcspResponseStatus, build_request, build_request_for, parse_response
from pki.profiles import ProfileName, Role
from pki.responder import OcspResponder
from pki.revocation import CertStatus, RevocationReason


def _service(home: Path, db_url: str) -> CaService:
    url = None if db_url.startswith("sqlite") else db_url
    return CaService(Home(home), db_url=url, passphrase=PASSPHRASE.encode, actor="t")


def test_revocation_by_another_process_reaches_the_responder(db_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    ca = _service(home, db_url)
    ca.init(ProfileName.ISO15118_2, db_url_to_record=None if db_url.startswith("sqlite") else db_url)
    issued = ca.issue_leaf(Role.CONTRACT, "DE8AACA2B3C4D5")
    request = build_request(issued.certificate, issued.chain[0])

    serving = _service(home, db_url)  # the responder's own process: its own store connection
    responder = OcspResponder.from_service(serving, refresh_interval=0.2)
    first = responder.respond(request)
    assert parse_response(first.der).statuses[0].status is CertStatus.GOOD
    assert first.cacheable and responder.cached(request) is first  # no I/O, no signing

    ca.revoke(issued.serial, "cessation-of-operation")  # through the other service
    time.sleep(0.25)
    assert responder.cached(request) is None  # time to look at the store's revocation epoch
    after = parse_response(responder.respond(request).der).statuses[0]
    assert after.status is CertStatus.REVOKED and after.reason is RevocationReason.CESSATION_OF_OPERATION
    with serving.store as store:
        assert any(e.action == "ocsp-serve" for e in store.audit_entries())
    ca.close()


def test_certids_of_several_cas_or_unknown_serials(db_url: str, tmp_path: Path) -> None:
    ca = _service(tmp_path / "home", db_url)
    ca.init(ProfileName.ISO15118_2, db_url_to_record=None if db_url.startswith("sqlite") else db_url)
    contract = ca.issue_leaf(Role.CONTRACT, "DE8AACA2B3C4D5")
    secc = ca.issue_leaf(Role.SECC, "DE*ICE*E45B*78C")
    responder = OcspResponder.from_service(ca)
    nonce = secrets.token_bytes(16)

    both = build_request_for(
        [CertId.of(contract.certificate, contract.chain[0]), CertId.of(secc.certificate, secc.chain[0])],
        nonce,
    )
    assert parse_response(responder.respond(both).der).status is OcspResponseStatus.UNAUTHORIZED

    mo_sub2 = contract.chain[0]
    ids = [
        CertId.of(contract.certificate, mo_sub2, "SHA256"),
        CertId.of(contract.certificate, mo_sub2, "SHA512"),
    ]
    unknown = CertId(ids[0].hash_algorithm, ids[0].issuer_name_hash, ids[0].issuer_key_hash, 0xBAD)
    answer = responder.respond(build_request_for([*ids, unknown], nonce))
    parsed = parse_response(answer.der)
    assert [s.status for s in parsed.statuses] == [CertStatus.GOOD, CertStatus.GOOD, CertStatus.UNKNOWN]
    assert parsed.nonce == nonce and not answer.cacheable
    assert parse_response(responder.respond(b"\x30\x00").der).status is OcspResponseStatus.MALFORMED_REQUEST
    ca.close()


def test_unknown_is_not_cached_so_a_later_issuance_is_seen(db_url: str, tmp_path: Path) -> None:
    import datetime as dt

    ca = _service(tmp_path / "home", db_url)
    ca.init(ProfileName.ISO15118_2, db_url_to_record=None if db_url.startswith("sqlite") else db_url)
    mo_sub2 = ca.store.ca("iso15118-2/mo-sub2")
    responder = OcspResponder.from_service(_service(tmp_path / "home", db_url))
    from pki.certinfo import parse_certificate

    info = parse_certificate(mo_sub2.certificate_der)
    request = build_request_for([CertId.for_issuer(info.subject_der, info.public_key_der, 0xC0FFEE)])
    assert parse_response(responder.respond(request).der).statuses[0].status is CertStatus.UNKNOWN
    now = dt.datetime.now(dt.UTC)
    ca.store.submit(
        lambda tx: tx.add_certificate(
            serial="c0ffee",
            issuer_ca_id=mo_sub2.id,
            profile="iso15118-2",
            role="contract",
            subject="CN=x",
            not_before=now,
            not_after=now,
            der=b"\x30\x00",
            issued_at=now,
        )
    )
    assert responder.cached(request) is None
    assert parse_response(responder.respond(request).der).statuses[0].status is CertStatus.GOOD
    ca.close()
