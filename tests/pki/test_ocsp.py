"""OCSP: requests from openssl parse, our responses satisfy openssl and pkilint, openssl's responses
satisfy our client checks; nonces, SHA-1/SHA-256 CertIDs, error responses and bad input."""

from __future__ import annotations

import contextlib
import hashlib
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import core
from asn1crypto import ocsp as aocsp
from tools import (
    PROFILES,
    Hierarchy,
    failing_findings,
    hierarchy,
    issue_entity,
    key_pem,
    openssl,
    pkilint,
    write_pem,
)

from pki import der
from pki.algorithms import Algorithm
from pki.certid import CertId
from pki.certinfo import cert_hash_data
from pki.errors import OcspError, PkiError
from pki.keys import public_key_bits
from pki.ocsp import (
    OcspResponseStatus,
    SingleStatus,
    build_request,
    build_request_for,
    build_response,
    check_response,
    error_response,
    parse_request,
    parse_response,
)
from pki.profiles import ProfileName, Role
from pki.revocation import CertStatus, RevocationReason

P2 = ProfileName.ISO15118_2
NOW = datetime.now(UTC).replace(microsecond=0)


def files(h: Hierarchy, tmp: Path, role: Role = Role.CONTRACT) -> dict[str, Path]:
    """PEM files for openssl: the certificate, its issuer, the issuer's chain to the root."""
    issuer_role = h.path(role)[1]
    return {
        "cert": write_pem(tmp / "cert.pem", [h[role].certificate]),
        "issuer": write_pem(tmp / "issuer.pem", [h[issuer_role].certificate]),
        "root": write_pem(tmp / "root.pem", [h.root(role)]),
        "subs": write_pem(
            tmp / "subs.pem", [h[r].certificate for r in h.path(issuer_role)[:-1]] or [h.root(role)]
        ),
    }


def respond(
    h: Hierarchy, request_der: bytes, status: str = "good", ca: Role = Role.MO_SUB2, **kwargs: object
) -> bytes:
    request = parse_request(request_der)
    revoked = (
        {"revoked_at": NOW - timedelta(hours=1), "reason": "key-compromise"} if status == "revoked" else {}
    )
    statuses = [
        SingleStatus(c, status, this_update=NOW, next_update=NOW + timedelta(hours=4), **revoked)  # type: ignore[arg-type]
        for c in request.cert_ids
    ]
    responder = h.responders[ca]
    return build_response(responder.certificate, responder.signer, statuses, NOW, request.nonce, **kwargs)


@pytest.mark.parametrize(("name", "algorithm"), PROFILES)
@pytest.mark.parametrize("digest", ["sha1", "sha256"])
@pytest.mark.parametrize("status", ["good", "revoked", "unknown"])
def test_openssl_accepts_our_responses(
    name: ProfileName, algorithm: Algorithm, digest: str, status: str, tmp_path: Path
) -> None:
    h = hierarchy(name, algorithm)
    f = files(h, tmp_path)
    openssl("ocsp", "-issuer", f["issuer"], f"-{digest}", "-cert", f["cert"], "-reqout", tmp_path / "req.der")
    request = parse_request((tmp_path / "req.der").read_bytes())
    assert request.nonce is not None and len(request.nonce) == 16  # openssl sends one by default
    assert request.cert_ids[0].hash_algorithm == digest.upper()
    (tmp_path / "resp.der").write_bytes(respond(h, (tmp_path / "req.der").read_bytes(), status))
    # signature, responder authorisation (delegated, OCSPSigning) and the nonce, as openssl checks them
    verified = openssl(
        "ocsp", "-reqin", tmp_path / "req.der", "-respin", tmp_path / "resp.der",
        "-CAfile", f["root"], "-verify_other", f["subs"],
    )  # fmt: skip
    assert "Response verify OK" in verified.stderr + verified.stdout
    shown = openssl(
        "ocsp", "-respin", tmp_path / "resp.der", "-issuer", f["issuer"], f"-{digest}", "-cert", f["cert"],
        "-no_nonce", "-CAfile", f["root"], "-verify_other", f["subs"],
    ).stdout  # fmt: skip
    assert f"cert.pem: {status}" in shown
    if status == "revoked":
        assert "Reason: keyCompromise" in shown


@pytest.mark.parametrize(("name", "algorithm"), PROFILES)
def test_pkilint_finds_nothing_in_our_responses(
    name: ProfileName, algorithm: Algorithm, tmp_path: Path
) -> None:
    h = hierarchy(name, algorithm)
    for status in ("good", "revoked"):
        request = build_request(h[Role.CONTRACT].certificate, h[Role.MO_SUB2].certificate, nonce=b"n" * 16)
        (tmp_path / "resp.der").write_bytes(respond(h, request, status))
        findings = pkilint("lint_ocsp_response", tmp_path / "resp.der")
        assert failing_findings(findings) == [], findings
    (tmp_path / "error.der").write_bytes(error_response("unauthorized"))
    assert failing_findings(pkilint("lint_ocsp_response", tmp_path / "error.der")) == []


def test_the_response_names_the_responder_by_key_and_carries_its_certificate() -> None:
    h = hierarchy(P2, Algorithm.P256)
    request = build_request(h[Role.CONTRACT].certificate, h[Role.MO_SUB2].certificate, nonce=b"\x01" * 32)
    response = parse_response(respond(h, request))
    responder = h.responders[Role.MO_SUB2]
    assert (
        response.responder_key_hash == hashlib.sha1(public_key_bits(responder.info.public_key_der)).digest()
    )
    assert response.certs == (responder.certificate,)
    assert response.nonce == b"\x01" * 32 and response.produced_at == NOW
    (single,) = response.statuses
    assert (
        single.status is CertStatus.GOOD
        and single.this_update == NOW
        and single.next_update == NOW + timedelta(hours=4)
    )
    assert check_response(response, h[Role.MO_SUB2].certificate, NOW, nonce=b"\x01" * 32) == response


def test_the_certid_is_echoed_byte_for_byte() -> None:
    h = hierarchy(P2, Algorithm.P256)
    # a CertID whose SHA-256 AlgorithmIdentifier carries NULL parameters, as some clients write it
    cert_id = cert_hash_data(h[Role.CONTRACT].certificate, h[Role.MO_SUB2].certificate, "SHA256")
    odd = aocsp.CertId(
        {
            "hash_algorithm": {"algorithm": "sha256", "parameters": core.Null()},
            "issuer_name_hash": cert_id.issuer_name_hash,
            "issuer_key_hash": cert_id.issuer_key_hash,
            "serial_number": cert_id.serial,
        }
    ).dump()
    request = aocsp.OCSPRequest(
        {"tbs_request": {"request_list": [{"req_cert": aocsp.CertId.load(odd)}]}}
    ).dump()
    parsed = parse_request(request)
    assert parsed.cert_ids == (cert_id,) and parsed.nonce is None
    response = respond(h, request)
    assert odd in response
    assert parse_response(response).nonce is None


def test_one_request_about_several_certificates() -> None:
    h = hierarchy(P2, Algorithm.P256)
    second = issue_entity(
        P2,
        Role.CONTRACT,
        h[Role.MO_SUB2],
        Algorithm.P256,
        NOW - timedelta(minutes=1),
        common_name="DE83DUIEN83QGZD",
    )
    ids = [
        cert_hash_data(c, h[Role.MO_SUB2].certificate, "SHA256")
        for c in (h[Role.CONTRACT].certificate, second.certificate)
    ]
    response = parse_response(respond(h, build_request_for(ids, nonce=b"abc")))
    assert [s.cert_id for s in response.statuses] == ids
    assert response.status_for(ids[1]) is not None and response.status_for(ids[1]).status is CertStatus.GOOD  # type: ignore[union-attr]


def test_ocpp_hash_data_turns_into_a_request_the_responder_understands() -> None:
    """The bridge's GetCertificateStatus path: OCPP OCSPRequestData -> OCSP request -> response."""
    h = hierarchy(P2, Algorithm.P256)
    ocpp = cert_hash_data(h[Role.CONTRACT].certificate, h[Role.MO_SUB2].certificate).to_ocpp()
    request = build_request_for([CertId.from_ocpp(ocpp)])
    response = check_response(respond(h, request, "revoked"), h[Role.MO_SUB2].certificate, NOW)
    single = response.status_for(CertId.from_ocpp(ocpp))
    assert single is not None and single.to_revocation_status().reason is RevocationReason.KEY_COMPROMISE


def test_our_client_checks_a_response_from_openssls_responder(tmp_path: Path) -> None:
    """Interop the other way: openssl's reference responder signs, we parse and check."""
    h = hierarchy(P2, Algorithm.P256)
    f = files(h, tmp_path)
    responder = h.responders[Role.MO_SUB2]
    write_pem(tmp_path / "rsigner.pem", [responder.certificate])
    (tmp_path / "rkey.pem").write_bytes(key_pem(responder.key))
    info = h[Role.CONTRACT].info
    (tmp_path / "index.txt").write_text(
        f"R\t{info.not_after:%y%m%d%H%M%S}Z\t{NOW - timedelta(hours=2):%y%m%d%H%M%S}Z,keyCompromise\t"
        f"{info.serial:X}\tunknown\t/CN={info.common_name}\n"
    )
    nonce = bytes(range(16))
    request = build_request(h[Role.CONTRACT].certificate, h[Role.MO_SUB2].certificate, nonce=nonce)
    (tmp_path / "req.der").write_bytes(request)
    openssl(
        "ocsp", "-index", tmp_path / "index.txt", "-CA", f["issuer"], "-rsigner", tmp_path / "rsigner.pem",
        "-rkey", tmp_path / "rkey.pem", "-reqin", tmp_path / "req.der", "-respout", tmp_path / "resp.der",
        "-ndays", "1",
    )  # fmt: skip
    # openssl stamps thisUpdate with the real clock: check at it, not at the module's NOW
    response = check_response(
        (tmp_path / "resp.der").read_bytes(), h[Role.MO_SUB2].certificate, datetime.now(UTC), nonce=nonce
    )
    (single,) = response.statuses
    assert single.status is CertStatus.REVOKED and single.reason is RevocationReason.KEY_COMPROMISE
    assert single.revoked_at == NOW - timedelta(hours=2)
    with pytest.raises(OcspError, match="nonce"):
        check_response((tmp_path / "resp.der").read_bytes(), h[Role.MO_SUB2].certificate, NOW, nonce=b"other")


# --- error responses ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"),
    [("malformedRequest", 1), ("internalError", 2), ("tryLater", 3), ("sigRequired", 5), ("unauthorized", 6)],
)
def test_error_responses_carry_only_their_status(status: str, code: int, tmp_path: Path) -> None:
    der = error_response(status)
    assert der == bytes([0x30, 0x03, 0x0A, 0x01, code])
    assert parse_response(der).status == status
    (tmp_path / "resp.der").write_bytes(der)
    shown = openssl("ocsp", "-respin", tmp_path / "resp.der", "-resp_text", "-noverify", check=False)
    assert f"({code})" in shown.stdout + shown.stderr
    with pytest.raises(OcspError, match=f"answered {status}"):
        check_response(der, hierarchy(P2, Algorithm.P256)[Role.MO_SUB2].certificate, NOW)


def test_error_response_refuses_success_and_unknown_names() -> None:
    with pytest.raises(PkiError, match="build_response"):
        error_response(OcspResponseStatus.SUCCESSFUL)
    with pytest.raises(PkiError, match="unknown OCSP response status"):
        error_response("notAStatus")


# --- bad requests --------------------------------------------------------------------------


def request_with(**tbs_changes: object) -> bytes:
    h = hierarchy(P2, Algorithm.P256)
    cert_id = cert_hash_data(h[Role.CONTRACT].certificate, h[Role.MO_SUB2].certificate, "SHA1")
    tbs: dict[str, object] = {
        "request_list": [
            {
                "req_cert": {
                    "hash_algorithm": {"algorithm": "sha1"},
                    "issuer_name_hash": cert_id.issuer_name_hash,
                    "issuer_key_hash": cert_id.issuer_key_hash,
                    "serial_number": cert_id.serial,
                }
            }
        ]
    }
    tbs.update(tbs_changes)
    return bytes(aocsp.OCSPRequest({"tbs_request": tbs}).dump())


def nonce_extension(value: bytes) -> list[dict[str, object]]:
    return [{"extn_id": "nonce", "critical": False, "extn_value": value}]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(lambda: b"", "malformed OCSP request", id="empty"),
        pytest.param(lambda: b"\x30\x03\x02\x01\x00", "malformed OCSP request", id="not-a-request"),
        pytest.param(lambda: request_with()[:-3], "malformed OCSP request", id="truncated"),
        pytest.param(lambda: request_with() + b"\x00", "malformed OCSP request", id="trailing-byte"),
        pytest.param(lambda: request_with(request_list=[]), "asks about no certificate", id="no-certid"),
        pytest.param(
            lambda: request_with(request_extensions=nonce_extension(b"x" * 129)),
            "RFC 8954 allows 1 to 128",
            id="nonce-too-long",
        ),
        pytest.param(
            lambda: request_with(request_extensions=nonce_extension(b"")),
            "RFC 8954 allows 1 to 128",
            id="nonce-empty",
        ),
        pytest.param(
            lambda: request_with(
                request_extensions=[{"extn_id": "1.2.3.4", "critical": True, "extn_value": b"\x05\x00"}]
            ),
            "unsupported critical extension 1.2.3.4",
            id="critical-extension",
        ),
        pytest.param(lambda: request_with(version=1), "unsupported OCSP request version", id="version-2"),
    ],
)
def test_malformed_requests_raise_ocsp_error(make: Callable[[], bytes], message: str) -> None:
    data = make()
    with pytest.raises(OcspError, match=message) as caught:
        parse_request(data)
    assert isinstance(caught.value, PkiError)


def test_a_nonce_that_is_not_an_octet_string_is_refused() -> None:
    der = request_with(request_extensions=nonce_extension(b"abc"))
    broken = der.replace(bytes.fromhex("04050403616263"), bytes.fromhex("04050203616263"))  # INTEGER inside
    assert broken != der
    with pytest.raises(OcspError, match=r"OCTET STRING|OctetString"):
        parse_request(broken)


def test_unsupported_certid_hash_and_too_many_requests_are_refused() -> None:
    md5 = request_with().replace(
        bytes.fromhex("06052b0e03021a"), bytes.fromhex("06052b0e030203")
    )  # not SHA-1
    with pytest.raises(OcspError, match=r"unsupported CertID hash algorithm 1\.3\.14\.3\.2\.3"):
        parse_request(md5)
    item = aocsp.OCSPRequest.load(request_with())["tbs_request"]["request_list"][0]
    with pytest.raises(OcspError, match="at most 64"):
        parse_request(request_with(request_list=[item] * 65))


def test_random_garbage_never_escapes_as_another_exception() -> None:
    rng = random.Random(6960)
    good = request_with(request_extensions=nonce_extension(b"n" * 16))
    for _ in range(500):
        mutated = bytearray(good)
        mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        with contextlib.suppress(OcspError):
            parse_request(bytes(mutated))


# --- bad responses -------------------------------------------------------------------------


def test_build_response_refuses_what_it_must_not_sign() -> None:
    h = hierarchy(P2, Algorithm.P256)
    request = build_request(h[Role.CONTRACT].certificate, h[Role.MO_SUB2].certificate)
    with pytest.raises(PkiError, match="not the CA that"):
        respond(h, request, ca=Role.CPO_SUB2)  # the CPO responder cannot answer for MO certificates
    (cert_id,) = parse_request(request).cert_ids
    responder = h.responders[Role.MO_SUB2]
    with pytest.raises(PkiError, match="not the key of the responder"):
        build_response(responder.certificate, h[Role.MO_SUB2].signer, [SingleStatus(cert_id, "good")], NOW)
    with pytest.raises(PkiError, match="at least one"):
        build_response(responder.certificate, responder.signer, [], NOW)
    with pytest.raises(PkiError, match="timezone-aware"):
        build_response(
            responder.certificate, responder.signer, [SingleStatus(cert_id, "good")], NOW.replace(tzinfo=None)
        )
    with pytest.raises(PkiError, match="after thisUpdate"):
        build_response(
            responder.certificate, responder.signer, [SingleStatus(cert_id, "good", next_update=NOW)], NOW
        )


def test_single_status_validates_its_fields() -> None:
    cert_id = CertId("SHA1", bytes(20), bytes(20), 1)
    with pytest.raises(OcspError, match="needs its revocation time"):
        SingleStatus(cert_id, "revoked")
    with pytest.raises(OcspError, match="unknown certificate status"):
        SingleStatus(cert_id, "bogus")
    assert (
        SingleStatus(cert_id, "revoked", NOW, "cessation-of-operation").reason
        is RevocationReason.CESSATION_OF_OPERATION
    )
    with pytest.raises(OcspError, match="needs 20"):
        CertId("SHA1", bytes(32), bytes(20), 1)


def test_check_response_refuses_forged_stale_or_misattributed_answers() -> None:
    h = hierarchy(P2, Algorithm.P256)
    issuer = h[Role.MO_SUB2].certificate
    request = build_request(h[Role.CONTRACT].certificate, issuer, nonce=b"N" * 16)
    good = respond(h, request)
    tampered = bytearray(good)
    tampered[good.index(b"N" * 16)] ^= 1  # change the signed nonce
    with pytest.raises(OcspError, match="signature is invalid"):
        check_response(bytes(tampered), issuer, NOW)
    with pytest.raises(OcspError, match="expired at nextUpdate"):
        check_response(good, issuer, NOW + timedelta(hours=5))
    with pytest.raises(OcspError, match="in the future"):
        check_response(good, issuer, NOW - timedelta(minutes=10))  # beyond the 5-minute skew
    with pytest.raises(OcspError, match="was not issued by CN=CPO Sub-CA 2"):
        check_response(good, h[Role.CPO_SUB2].certificate, NOW)
    unsigned_certs = parse_response(good)
    with pytest.raises(OcspError, match="signed neither by"):
        check_response(replace(unsigned_certs, certs=()), issuer, NOW)
    # a leaf of the same CA without OCSPSigning cannot speak for it
    (cert_id,) = parse_request(request).cert_ids
    imposter = h[Role.CONTRACT]
    forged = build_response(imposter.certificate, imposter.signer, [SingleStatus(cert_id, "good")], NOW)
    with pytest.raises(OcspError, match="lacks extendedKeyUsage OCSPSigning"):
        check_response(forged, issuer, NOW)
    # the CA itself may sign its responses
    ca = h[Role.MO_SUB2]
    by_ca = build_response(ca.certificate, ca.signer, [SingleStatus(cert_id, "good")], NOW)
    assert check_response(by_ca, issuer, NOW).statuses[0].status is CertStatus.GOOD


def test_malformed_responses_raise_ocsp_error() -> None:
    h = hierarchy(P2, Algorithm.P256)
    good = respond(h, build_request(h[Role.CONTRACT].certificate, h[Role.MO_SUB2].certificate))
    for bad in (b"", b"junk", good[:-1], good + b"\x00", bytes([0x30, 0x03, 0x0A, 0x01, 0x04])):
        with pytest.raises(OcspError):
            parse_response(bad)


# --- the hand DER encoder the responses use ------------------------------------------------


@pytest.mark.parametrize("value", [0, 1, 127, 128, 255, 256, 32767, 32768, 2**64, 2**159 - 1, -1, -128, -129])
def test_der_integers_match_asn1crypto(value: int) -> None:
    assert der.integer(value) == core.Integer(value).dump()


@pytest.mark.parametrize("size", [0, 1, 127, 128, 255, 256, 70000])
def test_der_lengths_match_asn1crypto(size: int) -> None:
    assert der.octet_string(b"x" * size) == core.OctetString(b"x" * size).dump()


@pytest.mark.parametrize(
    "dotted", ["1.3.6.1.5.5.7.48.1.2", "2.16.840.1.101.3.4.2.1", "1.3.101.113", "2.999.1"]
)
def test_der_object_identifiers_match_asn1crypto(dotted: str) -> None:
    assert der.oid(dotted) == core.ObjectIdentifier(dotted).dump()


def test_der_times_and_enumerations_match_asn1crypto() -> None:
    moment = datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert der.generalized_time(moment) == core.GeneralizedTime(moment).dump()
    assert der.enumerated(6) == bytes.fromhex("0a0106") and der.enumerated(200) == bytes.fromhex("0a0200c8")
