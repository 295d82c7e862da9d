"""``pnc pki ocsp-serve`` as a real process on a real socket: openssl ocsp before and after a
revocation made by another process, RFC 5019 GET with caching headers, nonces, error statuses,
HTTP errors, and pkilint on its responses."""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from ops_helpers import Pnc, make_pnc, pki_tools

from pki.ocsp import OcspResponseStatus, build_request, parse_response
from pki.revocation import CertStatus, RevocationReason


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    pnc: Pnc
    dir: Path

    def issue(self, name: str, *, profile: str = "iso15118-2") -> tuple[Path, Path, str]:
        """A fresh contract certificate: (leaf PEM, leaf+sub-CAs PEM, serial)."""
        chain = self.dir / f"{name}-chain.pem"
        out = self.pnc(
            "pki",
            "issue",
            "contract",
            "--emaid",
            "DE8AACA2B3C4D5",
            "--profile",
            profile,
            "--out",
            chain,
            "--format",
            "json",
        )
        certs = x509.load_pem_x509_certificates(chain.read_bytes())
        leaf = self.dir / f"{name}.pem"
        leaf.write_bytes(certs[0].public_bytes(serialization.Encoding.PEM))
        (self.dir / f"{name}-issuer.pem").write_bytes(certs[1].public_bytes(serialization.Encoding.PEM))
        return leaf, chain, json.loads(out.stdout)["serial"]

    def post(
        self, body: bytes, content_type: str = "application/ocsp-request", method: str = "POST"
    ) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(
            self.url, data=body, method=method, headers={"Content-Type": content_type}
        )
        return _fetch(request)

    def get(self, der: bytes) -> tuple[int, dict[str, str], bytes]:
        path = urllib.parse.quote(base64.b64encode(der).decode(), safe="")
        return _fetch(urllib.request.Request(f"{self.url}/{path}"))


def _fetch(request: urllib.request.Request) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


@pytest.fixture(scope="module")
def server(ca_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("ocsp")
    home = base / "home"
    shutil.copytree(ca_template, home)
    pnc = make_pnc(home)
    port = _free_port()
    env = {**os.environ, **pnc.env}
    log = (base / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "pnc", "pki", "ocsp-serve", "--port", str(port)],
        env=env,
        stderr=log,
        stdout=log,
    )
    try:
        for _ in range(150):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                assert process.poll() is None, (base / "server.log").read_text()
                time.sleep(0.1)
        else:
            raise AssertionError("ocsp-serve did not start: " + (base / "server.log").read_text())
        pnc("pki", "roots", "--out-dir", base / "roots")
        pnc("pki", "roots", "--profile", "iso15118-20", "--out-dir", base / "roots20")
        yield Server(f"http://127.0.0.1:{port}/ocsp", pnc, base)
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def _openssl_ocsp(server: Server, leaf: Path, chain: Path, roots: str = "roots") -> str:
    issuer = leaf.with_name(leaf.stem + "-issuer.pem")
    result = pki_tools.openssl(
        "ocsp", "-issuer", issuer, "-cert", leaf, "-url", server.url,
        "-CAfile", server.dir / roots / "mo-root.pem", "-verify_other", chain, check=False,
    )  # fmt: skip
    return result.stdout + result.stderr


def test_openssl_sees_good_then_revoked_with_reason_and_time(server: Server) -> None:
    leaf, chain, serial = server.issue("revoked-later")
    before = _openssl_ocsp(server, leaf, chain)
    assert "Response verify OK" in before and f"{leaf}: good" in before, before
    assert "WARNING" not in before  # the nonce openssl sends came back
    # revoked by another process sharing the store: the responder notices within its refresh interval
    subprocess.run(
        [sys.executable, "-m", "pnc", "pki", "revoke", serial, "--reason", "keyCompromise"],
        env={**os.environ, **server.pnc.env}, check=True, capture_output=True,
    )  # fmt: skip
    revoked_at = server.pnc("pki", "show", serial, "--format", "json").stdout
    deadline = time.monotonic() + 5
    while True:
        after = _openssl_ocsp(server, leaf, chain)
        if ": revoked" in after or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert "Response verify OK" in after and f"{leaf}: revoked" in after, after
    assert "Reason: keyCompromise" in after
    shown = json.loads(revoked_at)["revoked_at"]
    when = time.strftime("%b %e %H:%M:%S %Y GMT", time.strptime(shown[:19], "%Y-%m-%dT%H:%M:%S"))
    assert f"Revocation Time: {when}" in after, (when, after)


def test_iso15118_20_p521_responses_verify_too(server: Server) -> None:
    leaf, chain, _ = server.issue("p521", profile="iso15118-20")
    out = _openssl_ocsp(server, leaf, chain, roots="roots20")
    assert "Response verify OK" in out and f"{leaf}: good" in out, out


def test_get_request_is_answered_with_rfc5019_caching_headers(server: Server) -> None:
    leaf, _, serial = server.issue("get")
    issuer = leaf.with_name("get-issuer.pem")
    request = build_request(leaf.read_bytes(), issuer.read_bytes())
    status, headers, body = server.get(request)
    assert status == 200 and headers["content-type"] == "application/ocsp-response"
    response = parse_response(body)
    assert response.status is OcspResponseStatus.SUCCESSFUL and response.nonce is None
    [single] = response.statuses
    assert single.status is CertStatus.GOOD and single.cert_id.serial == int(serial, 16)
    assert {"cache-control", "last-modified", "expires", "etag"} <= {k.lower() for k in headers}
    max_age = int(headers["cache-control"].split("max-age=")[1].split(",")[0])
    assert 0 < max_age <= 300  # capped: HTTP caches learn of a revocation within minutes
    again = server.get(request)
    assert again[2] == body  # served from the response cache


def test_nonce_is_echoed_and_each_answer_is_signed_afresh(server: Server) -> None:
    leaf, _, _ = server.issue("nonce")
    issuer = leaf.with_name("nonce-issuer.pem")
    nonces = [secrets.token_bytes(16) for _ in range(2)]
    answers = [
        parse_response(server.post(build_request(leaf.read_bytes(), issuer.read_bytes(), nonce=n))[2])
        for n in nonces
    ]
    assert [a.nonce for a in answers] == nonces


def test_unknown_serial_is_unknown_and_a_foreign_issuer_is_unauthorized(
    server: Server, tmp_path: Path
) -> None:
    leaf, _, _ = server.issue("unknown")
    issuer = leaf.with_name("unknown-issuer.pem").read_bytes()
    from pki.certid import CertId
    from pki.certinfo import parse_certificate
    from pki.ocsp import build_request_for

    info = parse_certificate(issuer)
    cert_id = CertId.for_issuer(info.subject_der, info.public_key_der, 0x1234567890ABCDEF, "SHA256")
    response = parse_response(server.post(build_request_for([cert_id]))[2])
    assert [s.status for s in response.statuses] == [CertStatus.UNKNOWN]
    foreign = pki_tools.hierarchy(pki_tools.ProfileName.ISO15118_2)
    other = build_request(
        foreign[pki_tools.Role.CONTRACT].certificate, foreign[pki_tools.Role.MO_SUB2].certificate
    )
    assert parse_response(server.post(other)[2]).status is OcspResponseStatus.UNAUTHORIZED


def test_malformed_requests_get_ocsp_and_http_errors(server: Server) -> None:
    status, _, body = server.post(b"\x30\x03\x02\x01\x01")
    assert status == 200 and parse_response(body).status is OcspResponseStatus.MALFORMED_REQUEST
    status, _, body = server.get(b"not der at all")
    assert status == 200 and parse_response(body).status is OcspResponseStatus.MALFORMED_REQUEST
    assert server.post(b"x", content_type="text/plain")[0] == 415
    assert server.post(b"x", method="PUT")[0] == 405
    assert server.post(b"\x30" * 20000)[0] == 413


def test_responses_pass_pkilint(server: Server, tmp_path: Path) -> None:
    leaf, _, serial = server.issue("lint")
    issuer = leaf.with_name("lint-issuer.pem").read_bytes()
    good = server.post(build_request(leaf.read_bytes(), issuer, nonce=secrets.token_bytes(16)))[2]
    server.pnc("pki", "revoke", serial, "--reason", "superseded")
    time.sleep(1.2)
    revoked = server.post(build_request(leaf.read_bytes(), issuer))[2]
    assert parse_response(revoked).statuses[0].reason is RevocationReason.SUPERSEDED
    for name, der in (("good", good), ("revoked", revoked)):
        (tmp_path / f"{name}.der").write_bytes(der)
        findings = pki_tools.pkilint("lint_ocsp_response", tmp_path / f"{name}.der")
        assert pki_tools.failing_findings(findings) == [], (name, findings)
