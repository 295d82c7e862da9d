"""``/v1/contracts``: the contract registry (eMAID, PCID, status, validity), as ``pnc contracts``.

Changes are audited by the registry itself with the caller's key as the actor."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from pki.contracts import ContractRecord, ContractRegistry, ContractStatus
from pki.identifiers import validate_pcid
from pnc.core.apikeys import ApiPrincipal, ApiRole
from pnc.server.context import AppContext
from pnc.server.rest.auth import Authenticator
from pnc.server.rest.models import Contract, ContractCreate, ContractStatusName, ContractUpdate


def _contract(record: ContractRecord, ctx: AppContext) -> dict[str, Any]:
    return {
        "emaid": record.emaid,
        "pcid": record.pcid,
        "status": record.effective_status(ctx.service.clock()).value,
        "registeredStatus": record.status.value,
        "validTo": record.valid_to,
        "certificateSerial": record.certificate_serial,
        "createdAt": record.created_at,
        "updatedAt": record.updated_at,
    }


def routes(ctx: AppContext, auth: Authenticator, router: APIRouter) -> None:
    readonly = Depends(auth.require(ApiRole.READONLY))
    operator = Depends(auth.require(ApiRole.OPERATOR))

    def registry(principal: ApiPrincipal) -> ContractRegistry:
        return ContractRegistry(ctx.service.store, actor=principal.actor, clock=ctx.service.clock)

    @router.get("/contracts", response_model=list[Contract], tags=["Contracts"], summary="List contracts")
    def contracts(
        status: Annotated[ContractStatusName | None, Query(description="The effective status")] = None,
        pcid: Annotated[str | None, Query(max_length=18, description="Only this vehicle's")] = None,
        principal: ApiPrincipal = readonly,
    ) -> list[dict[str, Any]]:
        reg = registry(principal)
        records = reg.for_pcid(validate_pcid(pcid)) if pcid is not None else reg.list()
        rows = [_contract(r, ctx) for r in records]
        return [r for r in rows if status is None or r["status"] == status]

    @router.get("/contracts/{emaid}", response_model=Contract, tags=["Contracts"], summary="One contract")
    def contract(emaid: str, principal: ApiPrincipal = readonly) -> dict[str, Any]:
        return _contract(registry(principal).get(emaid), ctx)

    @router.post(
        "/contracts",
        response_model=Contract,
        status_code=201,
        tags=["Contracts"],
        summary="Register a contract",
    )
    def add(body: ContractCreate, response: Response, principal: ApiPrincipal = operator) -> dict[str, Any]:
        """One active contract per PCID; an eMAID already registered is refused (409)."""
        record = registry(principal).add(
            body.emaid, pcid=body.pcid, status=ContractStatus(body.status), valid_to=body.valid_to
        )
        response.headers["Location"] = f"contracts/{record.emaid}"
        return _contract(record, ctx)

    @router.patch(
        "/contracts/{emaid}", response_model=Contract, tags=["Contracts"], summary="Change the status"
    )
    def change(emaid: str, body: ContractUpdate, principal: ApiPrincipal = operator) -> dict[str, Any]:
        """``blocked``: no installation, Authorize answers ContractCancelled + Blocked."""
        record = registry(principal).set_status(emaid, ContractStatus(body.status))
        ctx.core.forget_contract(record.emaid)  # Authorize sees the new status at once
        return _contract(record, ctx)

    @router.delete(
        "/contracts/{emaid}", response_model=Contract, tags=["Contracts"], summary="Remove a contract"
    )
    def remove(emaid: str, principal: ApiPrincipal = operator) -> dict[str, Any]:
        """The certificates issued for it stay in the store."""
        record = registry(principal).remove(emaid)
        ctx.core.forget_contract(record.emaid)
        return _contract(record, ctx)


__all__ = ["routes"]
