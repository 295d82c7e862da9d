"""Benchmark of the CA: durable contract issuances per second (SQLite, PostgreSQL) and OCSP responses
per second (the responder core, and over HTTP with a real client on loopback).

Not a test. Run: ``scripts/env`` then ``python benchmarks/pki_bench.py [--seconds 5] [--threads 4]
[--postgres URL]`` (PostgreSQL also from ``PNC_TEST_POSTGRES_URL``). Every figure is printed with its
ratio to a baseline measured in the same run on the same machine:

- issuance vs. ``cryptography`` building and signing a comparable leaf (key generation included) with
  no checks and no storage, and vs. the raw commit rate of the same database (one row per commit);
- OCSP vs. the bare signing rate of the responder key.

Targets on a 2-core machine: >= 300 durable issuances/s on SQLite, >= 2,000 OCSP responses/s.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pki.ca import CaService
from pki.home import Home
from pki.profiles import ProfileName, Role

PASSPHRASE = b"benchmark passphrase"


def rate(work: Callable[[], object], seconds: float, threads: int = 1) -> float:
    """Calls of ``work`` per second, ``threads`` callers at once, for about ``seconds``."""
    work()  # warm up
    deadline = time.perf_counter() + seconds
    counts = [0] * threads

    def loop(index: int) -> None:
        while time.perf_counter() < deadline:
            work()
            counts[index] += 1

    start = time.perf_counter()
    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts) / (time.perf_counter() - start)


def line(label: str, value: float, baselines: dict[str, float], target: float | None = None) -> None:
    ratios = "  ".join(f"{value / b:6.2f}x {name}" for name, b in baselines.items() if b)
    verdict = "" if target is None else ("  ok" if value >= target else f"  BELOW TARGET {target:,.0f}")
    print(f"  {label:<44} {value:10,.0f}/s  {ratios}{verdict}")


# -- baselines


def baseline_sign_build() -> Callable[[], object]:
    """cryptography builds and signs a contract-like leaf (fresh key), nothing checked or stored."""
    issuer_key = ec.generate_private_key(ec.SECP256R1())
    issuer_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "MO Sub-CA 2")])
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "DE8AACA2B3C4D5L"),
            x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "MO"),
        ]
    )
    now = dt.datetime.now(dt.UTC)

    def work() -> bytes:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, True, True, False, True, False, False, False, False), critical=True
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(issuer_key, hashes.SHA256())
        )
        return cert.tbs_certificate_bytes

    return work


def baseline_sqlite_commit(directory: Path) -> Callable[[], object]:
    """One ~600-byte row per commit, WAL with synchronous=FULL, as the store runs SQLite."""
    conn = sqlite3.connect(directory / "raw.sqlite", isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, der BLOB)")
    lock = threading.Lock()

    def work() -> None:
        with lock:
            conn.execute("BEGIN")
            conn.execute("INSERT INTO t (der) VALUES (?)", (os.urandom(600),))
            conn.execute("COMMIT")

    return work


def baseline_postgres_commit(url: str) -> Callable[[], object]:
    import psycopg

    conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=False)
    conn.execute("CREATE TEMP TABLE t (id SERIAL PRIMARY KEY, der BYTEA)")
    conn.commit()
    lock = threading.Lock()

    def work() -> None:
        with lock:
            conn.execute("INSERT INTO t (der) VALUES (%s)", (os.urandom(600),))
            conn.commit()

    return work


# -- the CA


def issuing_service(home: Path, db_url: str | None) -> CaService:
    service = CaService(Home(home), db_url=db_url, passphrase=lambda: PASSPHRASE, actor="benchmark")
    service.init(ProfileName.ISO15118_2, db_url_to_record=db_url)
    return service


def issuance_work(service: CaService) -> Callable[[], object]:
    def work() -> object:
        return service.issue_leaf(Role.CONTRACT, "DE8AACA2B3C4D5")

    return work


def postgres_schema(url: str) -> tuple[str, Callable[[], None]]:
    from sqlalchemy import create_engine, text

    schema = "bench_" + secrets.token_hex(4)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}", drop


# -- OCSP


def ocsp_request(service: CaService, *, nonce: bool) -> bytes:
    from pki.ocsp import build_request

    issued = service.issue_leaf(Role.CONTRACT, "DE8AACA2B3C4D5")
    return build_request(
        issued.certificate, issued.chain[0], nonce=secrets.token_bytes(16) if nonce else None
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _http_client(port: int, request: bytes, seconds: float, connections: int, get: bool) -> int:
    """Keep-alive HTTP/1.1 connections sending OCSP requests back to back; returns responses received."""
    done = 0
    deadline = time.perf_counter() + seconds
    if get:
        path = "/ocsp/" + base64.b64encode(request).decode().replace("+", "%2B").replace("/", "%2F").replace(
            "=", "%3D"
        )
        message = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    else:
        message = (
            f"POST /ocsp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/ocsp-request\r\n"
            f"Content-Length: {len(request)}\r\n\r\n"
        ).encode() + request

    async def one() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                writer.write(message)
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(head.decode(errors="replace"))
                length = next(
                    int(h.split(b":")[1])
                    for h in head.split(b"\r\n")
                    if h.lower().startswith(b"content-length")
                )
                body = await reader.readexactly(length)
                if body[:1] != b"\x30":
                    raise RuntimeError("not an OCSPResponse")
                done += 1
        finally:
            writer.close()

    await asyncio.gather(*(one() for _ in range(connections)))
    return done


def http_rate(port: int, request: bytes, seconds: float, connections: int, *, get: bool) -> float:
    asyncio.run(_http_client(port, request, 0.5, connections, get))  # warm up
    start = time.perf_counter()
    count = asyncio.run(_http_client(port, request, seconds, connections, get))
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--threads", type=int, default=4, help="concurrent issuers (group commit)")
    parser.add_argument("--connections", type=int, default=8, help="HTTP client connections")
    parser.add_argument("--postgres", default=os.environ.get("PNC_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    seconds, threads = args.seconds, args.threads

    with tempfile.TemporaryDirectory(prefix="pnc-bench-") as tmp:
        work_dir = Path(tmp)
        print(
            f"pnc CA benchmark: {os.cpu_count()} CPUs, {seconds:.0f} s per figure, Python {sys.version.split()[0]}"
        )

        print("baselines")
        sign_rate = rate(baseline_sign_build(), seconds)
        print(f"  {'cryptography build+sign, no checks/storage':<44} {sign_rate:10,.0f}/s")
        sqlite_rate = rate(baseline_sqlite_commit(work_dir), seconds)
        print(f"  {'raw SQLite commits (WAL, synchronous=FULL)':<44} {sqlite_rate:10,.0f}/s")

        print("durable contract issuance through the CA service (SQLite)")
        service = issuing_service(work_dir / "home", None)
        base = {"sign": sign_rate, "sqlite-commit": sqlite_rate}
        line("1 thread", rate(issuance_work(service), seconds), base, 300)
        line(f"{threads} threads (group commit)", rate(issuance_work(service), seconds, threads), base, 300)

        if args.postgres:
            print("durable contract issuance through the CA service (PostgreSQL)")
            url, drop = postgres_schema(args.postgres)
            try:
                pg_rate = rate(baseline_postgres_commit(url), seconds)
                print(f"  {'raw PostgreSQL commits':<44} {pg_rate:10,.0f}/s")
                pg_service = issuing_service(work_dir / "home-pg", url)
                base = {"sign": sign_rate, "pg-commit": pg_rate}
                line("1 thread", rate(issuance_work(pg_service), seconds), base)
                line(
                    f"{threads} threads (group commit)",
                    rate(issuance_work(pg_service), seconds, threads),
                    base,
                )
                pg_service.close()
            finally:
                drop()
        else:
            print("PostgreSQL: skipped (no --postgres URL / PNC_TEST_POSTGRES_URL)")

        print("OCSP responses")
        from pki.responder import OcspResponder

        responder = OcspResponder.from_service(service)
        plain = ocsp_request(service, nonce=False)
        with_nonce = ocsp_request(service, nonce=True)
        issuer = responder.issuers[0]
        sign_only = rate(lambda: issuer.signer.sign(plain), seconds)
        print(f"  {'baseline: responder key signs (P-256)':<44} {sign_only:10,.0f}/s")
        base = {"sign": sign_only}

        def cached() -> object:
            return responder.cached(plain) or responder.respond(plain)

        line("core, no nonce (cached response)", rate(cached, seconds), base, 2000)
        line(
            "core, nonce (status cached, signed afresh)",
            rate(lambda: responder.respond(with_nonce), seconds),
            base,
            2000,
        )
        service.close()

        port = free_port()
        env = {**os.environ, "PNC_CA_PASSPHRASE": PASSPHRASE.decode(), "PNC_HOME": str(work_dir / "home")}
        server = subprocess.Popen(
            [sys.executable, "-m", "pnc", "pki", "ocsp-serve", "--port", str(port)],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            conns = args.connections
            line(
                f"HTTP POST, no nonce ({conns} connections)",
                http_rate(port, plain, seconds, conns, get=False),
                base,
                2000,
            )
            line(
                f"HTTP GET, no nonce ({conns} connections)",
                http_rate(port, plain, seconds, conns, get=True),
                base,
                2000,
            )
            line(
                f"HTTP POST, nonce ({conns} connections)",
                http_rate(port, with_nonce, seconds, conns, get=False),
                base,
            )
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
