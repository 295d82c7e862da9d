"""The store-heavy parts on PostgreSQL: Authorize with revocation and the registry, and sign jobs
signed and delivered once by two runners (as two bridge processes would) on one database."""

from __future__ import annotations

import asyncio

from bridge_helpers import EMAID, Home, Station, authorize_payload, chain_pem, make_csr, pair, run

from pki.ca import CaService
from pki.contracts import ContractStatus
from pnc.core.bridge import BridgeCore, BridgeSettings
from pnc.core.signing import SignJobRunner

QUICK = BridgeSettings(sign_retry_delays=(0.01, 0.02), contract_cache_ttl=0.0)


def test_authorize_on_postgres_sees_revocations_and_the_registry(pg_home: Home) -> None:
    core = pg_home.core(QUICK)
    issued = pg_home.contract()
    payload = authorize_payload(certificate=chain_pem(issued))
    assert pair(run(core.authorize(payload))) == ("Accepted", "Accepted")
    core.registry.add(EMAID, status=ContractStatus.BLOCKED)
    assert pair(run(core.authorize(payload))) == ("ContractCancelled", "Blocked")
    core.epoch.refresh_interval = 0.0
    other: CaService = pg_home.make_service()  # another process's service on the same database
    try:
        other.revoke(issued.serial, "key-compromise")
    finally:
        other.close()
    assert pair(run(core.authorize(payload))) == ("CertificateRevoked", "Invalid")


def test_two_bridge_processes_on_postgres_sign_and_deliver_each_job_once(pg_home: Home) -> None:
    services = [pg_home.make_service(), pg_home.make_service()]
    cores = [BridgeCore(s, QUICK) for s in services]
    station = Station()

    async def scenario() -> None:
        runners = [SignJobRunner(core, station.deliver) for core in cores]
        for runner in runners:
            await runner.start()
        try:
            for i in range(6):
                core = cores[i % 2]
                payload = {
                    "csr": make_csr(f"CS-{i}", dc=None),
                    "certificateType": "ChargingStationCertificate",
                }
                assert await core.sign_certificate(f"CS-{i}", payload) == {"status": "Accepted"}
            for runner in runners:
                await runner.resume()  # each process also sees the other's jobs
            for _ in range(3):
                for runner in runners:
                    await runner.wait_idle()
                await asyncio.sleep(0.05)
        finally:
            for runner in runners:
                await runner.stop()

    try:
        run(scenario())
        jobs = cores[0].signing.jobs.list()
        assert [(j.status, j.attempts) for j in jobs] == [("delivered", 1)] * 6
        assert sorted(s for s, _ in station.received) == [f"CS-{i}" for i in range(6)]
        issued = [
            e
            for e in pg_home.service.store.audit_entries()
            if e.action == "issue" and e.subject and "CS-" in e.subject
        ]
        assert len(issued) == 6
    finally:
        for core in cores:
            core.close()
        for service in services:
            service.close()
