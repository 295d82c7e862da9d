"""Helpers of the REST API tests: a bridge's REST app on a real home, and API keys for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from pki.ca import CaService
from pnc.core.apikeys import ApiKeys, ApiRole
from pnc.server.rest import PREFIX, build_router


class ContractCacheOnly:
    """The one part of the core the contract routes use: telling Authorize a contract changed."""

    def __init__(self) -> None:
        self.forgotten: list[str | None] = []

    def forget_contract(self, emaid: str | None = None) -> None:
        self.forgotten.append(emaid)


@dataclass
class RestOnly:
    """The parts of a bridge process the certificate and contract routes use."""

    service: CaService
    core: Any = field(default_factory=ContractCacheOnly)
    stations: Any = None
    connections: Any = None
    metrics: Any = None


@dataclass
class Api:
    client: TestClient
    service: CaService
    tokens: dict[str, str] = field(default_factory=dict)  # role -> token
    key_ids: dict[str, str] = field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def get(self, path: str, role: str = "readonly", **kw: Any) -> Any:
        return self.client.get(path, headers=self.headers(role), **kw)

    def post(self, path: str, body: Any = None, role: str = "operator", **kw: Any) -> Any:
        return self.client.post(path, json=body, headers=self.headers(role), **kw)


def rest_app(ctx: Any) -> FastAPI:
    app = FastAPI(title="pnc bridge (REST under test)")
    app.include_router(build_router(ctx), prefix=PREFIX)
    return app


def make_keys(service: CaService, api: Api) -> None:
    keys = ApiKeys.of(service)
    for role in ApiRole:
        key_id, token = keys.create(role, f"test {role.value}")
        api.tokens[role.value] = token
        api.key_ids[role.value] = key_id
