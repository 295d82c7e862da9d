"""Plug & Charge material for the session tests: the EV's credentials, a contract backend that
answers certificate requests as a CSMS would (with v2g.security's backend helpers and the test
PKI), and a listener that plays the charger application."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from security_pki import EMAID, certificate, name_of, new_key, pki

from v2g.errors import V2GError
from v2g.security import (
    build_certificate_response,
    build_failed_certificate_response,
    encrypt_contract_key,
    parse_certificate_request,
)
from v2g.session import (
    AuthorizationRequested,
    CertificateInstallationRequested,
    Contract,
    EvCredentials,
    SeccSession,
)

_serial = itertools.count(100)
KIND = {"iso2": "p256", "iso20-cm": "p521"}


def credentials(protocol: str = "iso2", *, with_contract: bool = False) -> EvCredentials:
    """The EV's OEM provisioning material (and an existing contract when asked)."""
    p = pki(KIND[protocol])
    contract = None
    if with_contract:
        contract = Contract(EMAID, p.mo.leaf, list(p.mo.chain[1:]), p.mo.leaf_key)
    return EvCredentials(
        oem_certificate=p.oem.leaf,
        oem_key=p.oem.leaf_key,
        oem_sub_certificates=tuple(p.oem.chain[1:]),
        v2g_roots=(p.v2g.root,),
        mo_roots=(p.mo.root,),
        contract=contract,
    )


class Backend:
    """Issues a fresh contract certificate (MO Sub-CA 2 of the test PKI) for every request."""

    def __init__(self, protocol: str = "iso2") -> None:
        self.protocol = protocol
        self.pki = pki(KIND[protocol])
        self.requests: list[Any] = []
        self.refused = 0

    def answer(self, exi_request: bytes) -> bytes:
        try:
            request = parse_certificate_request(exi_request, self.protocol)
        except V2GError:
            self.refused += 1
            return b"\x80"  # nothing the charger can forward
        if not request.signature.valid:
            self.refused += 1
            return build_failed_certificate_response(
                protocol=self.protocol, session_id=request.session_id, response_code="FAILED_SignatureError"
            )
        self.requests.append(request)
        mo = self.pki.mo
        key = new_key(KIND[self.protocol])
        leaf = certificate(
            EMAID, "MO", key, name_of(mo.chain[1]), mo.sub2_key, ca=False, serial=next(_serial)
        )
        encrypted = encrypt_contract_key(
            self.protocol, key, request.certificate, pcid=request.pcid, contract_certificate=leaf
        )
        return build_certificate_response(
            protocol=self.protocol,
            action=request.action,
            session_id=request.session_id,
            contract_chain=[leaf, *mo.chain[1:]],
            encrypted_key=encrypted,
            sa_provisioning_chain=self.pki.v2g.chain,
            signer=self.pki.v2g.leaf_key,
            emaid=EMAID,
        )


def charger_app(
    secc: SeccSession, backend: Backend | None = None, *, accept: bool = True, code: str | None = None
) -> Callable[[str, object], None]:
    """A loopback listener that forwards certificate requests to ``backend`` and authorizes."""
    seen: list[AuthorizationRequested] = []

    def listener(side: str, event: object) -> None:
        if side != "secc":
            return
        if isinstance(event, CertificateInstallationRequested):
            secc.certificate_installation_response(backend.answer(event.exi_request) if backend else None)
        if isinstance(event, AuthorizationRequested):
            seen.append(event)
            secc.authorize(accept, response_code=code)

    listener.seen = seen  # type: ignore[attr-defined]
    return listener
