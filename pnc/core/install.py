"""The contract-certificate installation service (ISO 15118-2 M01/M02 and ISO 15118-20 installation,
OCPP 2.0.1 Get15118EVCertificate): an EXI request in, an EXI response and the OCPP status out.

:meth:`ContractInstaller.install_contract` takes the request the charger forwards (the EXI bytes,
its ``iso15118SchemaVersion`` and ``action``) and

1. decodes it for the schema (``urn:iso:15118:2:2013:MsgDef`` -> ISO 15118-2,
   ``urn:iso:std:iso:15118:-20:CommonMessages`` -> ISO 15118-20) and checks it is the request the
   action announces (:mod:`pnc.core.install_messages`, over :mod:`v2g.security.backend`);
2. validates the OEM provisioning chain (installation) or the old contract chain (update) to a root
   of the home's profile (OEM roots; MO and V2G roots for an update), with revocation from the
   CA's own store;
3. verifies the request's XML signature with the key of that chain's leaf;
4. checks that the EV trusts the V2G root of the SA provisioning chain (ListOfRootCertificateIDs);
5. finds the contract: the active one of the PCID (installation) or the one of the eMAID (update);
6. issues the contract certificate from MO Sub-CA 2 with a fresh key pair (eMAID as CN) through
   the CA service, which stores and audits it;
7. encrypts the contract's private key for the EV and builds the response with the contract chain,
   the CPS provisioning chain, the DH public key and the eMAID, signed with the CPS leaf key
   (:mod:`v2g.security`);
8. records the installation in the registry (serial, audit entry).

A refusal answers with a valid EXI response carrying the ResponseCode of :mod:`pnc.core.install_codes`
and writes nothing but an audit entry; nothing raises out of :meth:`install_contract`. The EV's
contract private key exists only in memory for the duration of the call: it is never stored,
logged or put into an audit entry; this module holds it only as the key object the CA service
returns and drops that as soon as the key is encrypted (Python cannot zero the memory that
``cryptography`` and ``int`` objects hold; the encryption in :mod:`v2g.security` makes the only
byte copy).

Sans-IO apart from the CA service (store and signer) it is given: the OCPP and REST adapters call it
from a worker thread.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from pki.ca import CaService
from pki.ceremony import entity_name
from pki.certinfo import CertInfo, parse_certificate
from pki.contracts import ContractRecord, ContractRegistry, ContractStatus, provisioned_emaid
from pki.errors import AlreadyExistsError, PkiError
from pki.profiles import ProfileName, Role, profile_for
from pki.revocation import RevocationReason
from pki.validation import TrustStore, Verdict, VerdictStatus, validate_chain
from pnc.core.install_codes import OcppStatus, Outcome, ocpp_status, response_code
from pnc.core.install_messages import (
    EMPTY_SESSION_ID,
    CertificateRequest,
    RequestError,
    RequestKind,
    Schema,
    SequenceError,
    expected_kind,
    parse_action,
    parse_request,
    schema_of,
)
from pnc.core.policy import ContractPolicy
from pnc.core.revocation_cache import StoreRevocations
from v2g.security import (
    build_certificate_response,
    build_failed_certificate_response,
    encrypt_contract_key,
)

_ISO20_PCID = re.compile(r"[A-Z0-9]{18}")
_VERDICT_OUTCOME = {
    VerdictStatus.EXPIRED: Outcome.CERTIFICATE_EXPIRED,
    VerdictStatus.NOT_YET_VALID: Outcome.CERTIFICATE_NOT_YET_VALID,
    VerdictStatus.REVOKED: Outcome.CERTIFICATE_REVOKED,
}


@dataclass(frozen=True)
class InstallResult:
    """The answer for the charger and what was done (for the audit log and metrics).

    ``exi_response`` is empty only for an unsupported schema version (there is no schema to answer
    in); ``response_code`` is the ResponseCode inside it. ``serial`` and ``emaid`` name the contract
    certificate issued (None when none was).
    """

    status: OcppStatus
    exi_response: bytes
    outcome: Outcome
    response_code: str | None
    detail: str
    action: str
    schema_version: str
    pcid: str | None = None
    emaid: str | None = None
    serial: str | None = None
    previous_serial: str | None = None  # the contract's certificate before this one (an update)

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    def exi_response_base64(self) -> str:
        """``exiResponse`` of Get15118EVCertificateResponse."""
        import base64

        return base64.b64encode(self.exi_response).decode("ascii")


class _Refusal(Exception):
    """An evaluated request the service refuses: answered with the outcome's ResponseCode."""

    def __init__(self, outcome: Outcome, detail: str) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail


@dataclass(frozen=True)
class _ProfileTrust:
    """What the service needs of one home profile, read once from the store."""

    profile: ProfileName
    install_trust: TrustStore  # OEM roots
    update_trust: TrustStore  # MO and V2G roots
    oem_intermediates: tuple[bytes, ...]  # the home's OEM sub-CAs (-2 requests carry the leaf only)
    sa_chain: tuple[bytes, ...]  # CPS leaf, CPS Sub-CA 2, CPS Sub-CA 1
    v2g_root: CertInfo
    revocations: StoreRevocations  # from the CA's own store


class ContractInstaller:
    """The installation service of one home. Thread-safe; build one per process and reuse it.

    ``extra_oem_certificates`` adds OEM PKIs of vehicle makers: self-signed ones become trust
    anchors for provisioning chains, the others intermediates (an ISO 15118-2 request carries only
    the provisioning leaf).
    """

    def __init__(
        self,
        service: CaService,
        *,
        policy: ContractPolicy | None = None,
        extra_oem_certificates: Sequence[bytes] = (),
    ) -> None:
        self.service = service
        self.policy = policy or ContractPolicy()
        self.registry = ContractRegistry.of(service)
        self._extra_oem = tuple(parse_certificate(c) for c in extra_oem_certificates)
        self._trust: dict[ProfileName, _ProfileTrust] = {}
        self._lock = threading.Lock()

    # -- the use case

    def install_contract(
        self, exi_request: bytes, schema_version: str, action: str, *, ocpp_version: str | None = None
    ) -> InstallResult:
        """Answer a Get15118EVCertificate request; never raises. ``ocpp_version`` (of the charger
        that asked) goes into the audit entries."""
        context = _Context(action=str(action), schema_version=str(schema_version), ocpp_version=ocpp_version)
        try:
            return self._install(exi_request, context)
        except Exception as exc:  # the last line of defence: an answer, never an escaping exception
            context.revoke_issued(self.service, self.registry)
            return self._failure(context, Outcome.INTERNAL_ERROR, f"internal error: {_describe(exc)}")

    def _install(self, exi_request: bytes, context: _Context) -> InstallResult:
        try:
            context.schema = schema_of(context.schema_version)
            action = parse_action(context.action)
            context.kind = expected_kind(context.schema, action)
        except RequestError as exc:
            return self._failure(context, exc.outcome, exc.detail)
        try:
            trust = self._profile(context.schema.profile)
        except PkiError as exc:
            return self._failure(
                context, Outcome.INTERNAL_ERROR, f"the home cannot serve {context.schema.namespace}: {exc}"
            )
        try:
            request = parse_request(exi_request, context.schema, action)
        except SequenceError as exc:
            context.session_id, context.kind = exc.session_id, exc.kind
            return self._failure(context, exc.outcome, exc.detail)
        except RequestError as exc:
            return self._failure(context, exc.outcome, exc.detail)
        context.session_id, context.kind = request.session_id, request.kind
        try:
            return self._serve(request, trust, context)
        except _Refusal as refusal:
            self._audit_refusal(context, refusal)
            return self._failure(context, refusal.outcome, refusal.detail)

    def _serve(self, request: CertificateRequest, trust: _ProfileTrust, context: _Context) -> InstallResult:
        now = self.service.clock()
        leaf = self._validate_chain(request, trust, now)
        if request.kind is RequestKind.INSTALLATION:
            context.pcid = leaf.common_name
            if request.schema.protocol == "iso20-cm" and not _ISO20_PCID.fullmatch(leaf.common_name):
                raise _Refusal(
                    Outcome.CERT_CHAIN_ERROR,
                    f"the provisioning certificate's PCID {leaf.common_name!r} is not 18 capital letters and "
                    "digits, which the contract key encryption of ISO 15118-20 needs ([V2G20-2492])",
                )
        else:
            context.emaid = leaf.common_name
        verdict = request.signature
        if not verdict.valid:
            where = f" ({verdict.reference})" if verdict.reference else ""
            raise _Refusal(
                Outcome.SIGNATURE_ERROR, f"the request's signature does not verify: {verdict.reason}{where}"
            )
        if not _ev_trusts(request.root_ids, trust.v2g_root):
            raise _Refusal(
                Outcome.NO_CERTIFICATE_AVAILABLE,
                f"the EV's ListOfRootCertificateIDs does not name {trust.v2g_root.subject.rfc4514()} "
                f"(serial {trust.v2g_root.serial_hex}), the root of the SA provisioning chain",
            )
        contract = self._contract(request, leaf, now, context)
        details = {
            "pcid": context.pcid,
            "action": context.action,
            "schema": request.schema.namespace,
            "request": request.kind.value,
            **context.version_detail(),
        }
        issued = self.service.issue_leaf(
            Role.CONTRACT,
            contract.emaid,
            profile=trust.profile,
            validity_days=_validity_days(contract, trust.profile, now),
            # the registry's installation record commits with the certificate (one disk flush)
            record_also=lambda tx, serial: self.registry.record_installation(
                tx, contract.emaid, serial, details
            ),
        )
        context.serial = issued.serial
        context.emaid = contract.emaid
        context.previous_serial = contract.certificate_serial
        context.issued = True
        assert issued.private_key is not None
        encrypted = encrypt_contract_key(
            request.schema.protocol,
            issued.private_key,
            leaf.der,
            pcid=context.pcid,
            contract_certificate=issued.certificate,
        )
        contract_chain = (issued.certificate, *issued.chain)
        del issued  # the object holding the contract's private key
        data = build_certificate_response(
            protocol=request.schema.protocol,
            action=request.kind.action,
            session_id=request.session_id,
            contract_chain=contract_chain,
            encrypted_key=encrypted,
            sa_provisioning_chain=trust.sa_chain,
            signer=self.service.signer(entity_name(trust.profile, Role.CPS_LEAF)),
            emaid=contract.emaid,
            timestamp=int(now.timestamp()),
        )
        return self._result(context, Outcome.OK, "contract certificate installed", data)

    # -- steps

    def _validate_chain(
        self, request: CertificateRequest, trust: _ProfileTrust, now: dt.datetime
    ) -> CertInfo:
        install = request.kind is RequestKind.INSTALLATION
        # an ISO 15118-2 request carries the provisioning leaf only: its sub-CAs are the ones we know
        known = trust.oem_intermediates if install and len(request.chain) == 1 else ()
        chain = [*request.chain, *known]
        verdict = validate_chain(
            chain,
            trust.install_trust if install else trust.update_trust,
            now,
            expected_leaf_role=Role.OEM_PROV if install else Role.CONTRACT,
            revocation=trust.revocations,
            profile=trust.profile,
        )
        what = "OEM provisioning" if install else "contract"
        if not verdict.ok:
            raise _Refusal(
                _VERDICT_OUTCOME.get(verdict.status, Outcome.CERT_CHAIN_ERROR), f"{what} chain: {verdict}"
            )
        leaf = _leaf(verdict)
        return leaf

    def _contract(
        self, request: CertificateRequest, leaf: CertInfo, now: dt.datetime, context: _Context
    ) -> ContractRecord:
        if request.kind is RequestKind.UPDATE:
            emaid = leaf.common_name
            context.emaid = emaid
            if request.emaid is None or not _same_emaid(request.emaid, emaid):
                raise _Refusal(
                    Outcome.CERT_CHAIN_ERROR,
                    f"the request names eMAID {request.emaid!r}, its contract certificate is for {emaid}",
                )
            contract = self.registry.find(emaid)
            if contract is None:
                raise _Refusal(
                    Outcome.NO_CERTIFICATE_AVAILABLE, f"no contract with eMAID {emaid} in the registry"
                )
            context.pcid = contract.pcid
            return _usable(contract, now)
        pcid = leaf.common_name
        context.pcid = pcid
        contracts = self.registry.for_pcid(pcid)
        if not contracts and self.policy.auto_provision_prefix is not None:
            emaid = provisioned_emaid(self.policy.auto_provision_prefix, pcid)
            try:
                self.registry.add(emaid, pcid=pcid, action="contract-provision")
            except (AlreadyExistsError, PkiError) as exc:
                if not self.registry.for_pcid(pcid):  # not a concurrent provisioning of the same PCID
                    raise _Refusal(
                        Outcome.UNKNOWN_VEHICLE, f"cannot provision a contract for PCID {pcid}: {exc}"
                    ) from None
            contracts = self.registry.for_pcid(pcid)
        if not contracts:
            raise _Refusal(Outcome.UNKNOWN_VEHICLE, f"no contract for PCID {pcid} in the registry")
        context.emaid = contracts[0].emaid
        return _usable(contracts[0], now)

    def _profile(self, profile: ProfileName) -> _ProfileTrust:
        with self._lock:
            found = self._trust.get(profile)
            if found is None:
                found = self._trust[profile] = self._load_profile(profile)
            return found

    def _load_profile(self, profile: ProfileName) -> _ProfileTrust:
        service = self.service
        name = service.resolve_profile(profile)  # NotFoundError when the home lacks the profile
        roots = service.roots(name)
        cas = service.store.cas(name.value)

        def cert(role: Role) -> bytes:
            return service.ca_record(entity_name(name, role)).certificate_der

        extra_roots = [c.der for c in self._extra_oem if c.is_ca and c.is_self_issued]
        return _ProfileTrust(
            profile=name,
            install_trust=TrustStore([roots[Role.OEM_ROOT], *extra_roots]),
            update_trust=TrustStore([roots[Role.MO_ROOT], roots[Role.V2G_ROOT]]),
            oem_intermediates=(
                cert(Role.OEM_SUB2),
                cert(Role.OEM_SUB1),
                *(c.der for c in self._extra_oem if not c.is_self_issued),
            ),
            sa_chain=(cert(Role.CPS_LEAF), cert(Role.CPS_SUB2), cert(Role.CPS_SUB1)),
            v2g_root=parse_certificate(roots[Role.V2G_ROOT]),
            revocations=StoreRevocations(service, {ca.certificate_der: ca.id for ca in cas}),
        )

    # -- answers

    def _failure(self, context: _Context, outcome: Outcome, detail: str) -> InstallResult:
        data = b""
        if context.schema is not None:
            try:
                data = build_failed_certificate_response(
                    protocol=context.schema.protocol,
                    action=context.kind.action,
                    session_id=context.session_id,
                    response_code=response_code(context.schema.protocol, outcome),
                    timestamp=int(self.service.clock().timestamp()),
                )
            except Exception as exc:  # an answer all the same: the charger gets Failed and no EXI
                detail = f"{detail}; the failure response could not be built: {_describe(exc)}"
                outcome = Outcome.INTERNAL_ERROR
        context.serial = None
        return self._result(context, outcome, detail, data)

    def _result(self, context: _Context, outcome: Outcome, detail: str, data: bytes) -> InstallResult:
        code = response_code(context.schema.protocol, outcome) if context.schema is not None else None
        return InstallResult(
            status=ocpp_status(outcome) if data else OcppStatus.FAILED,
            exi_response=data,
            outcome=outcome,
            response_code=code if data else None,
            detail=detail,
            action=context.action,
            schema_version=context.schema_version,
            pcid=context.pcid,
            emaid=context.emaid,
            serial=context.serial,
            previous_serial=context.previous_serial if context.serial is not None else None,
        )

    def _audit_refusal(self, context: _Context, refusal: _Refusal) -> None:
        assert context.schema is not None
        subject = (
            f"PCID={context.pcid}" if context.pcid else f"eMAID={context.emaid}" if context.emaid else None
        )
        details = {
            "outcome": refusal.outcome.value,
            "response_code": response_code(context.schema.protocol, refusal.outcome),
            "reason": refusal.detail[:400],
            "pcid": context.pcid,
            "emaid": context.emaid,
            "schema": context.schema.namespace,
            "action": context.action,
            **context.version_detail(),
        }
        with self.service.store.transaction() as tx:
            self.service.audit(tx, "contract-install-refused", subject=subject, details=details)


class _Context:
    """What is known about one request as it is served (to answer it whatever happens)."""

    def __init__(self, *, action: str, schema_version: str, ocpp_version: str | None = None) -> None:
        self.action = action
        self.schema_version = schema_version
        self.ocpp_version = ocpp_version
        self.schema: Schema | None = None
        self.kind = RequestKind.INSTALLATION
        self.session_id = EMPTY_SESSION_ID
        self.pcid: str | None = None
        self.emaid: str | None = None
        self.serial: str | None = None
        self.previous_serial: str | None = None
        self.issued = False

    def version_detail(self) -> dict[str, str]:
        return {"ocpp_version": self.ocpp_version} if self.ocpp_version is not None else {}

    def revoke_issued(self, service: CaService, registry: ContractRegistry) -> None:
        """After a failure past issuance: the certificate the EV never received is revoked, and
        its contract names the certificate it had before (same transaction)."""
        if self.issued and self.serial is not None and self.emaid is not None:
            serial, emaid, previous = self.serial, self.emaid, self.previous_serial
            with contextlib.suppress(Exception):  # best effort; the failure itself is reported
                service.revoke(
                    serial,
                    RevocationReason.CESSATION_OF_OPERATION,
                    record_also=lambda tx: registry.undo_installation(tx, emaid, serial, previous),
                )


def _leaf(verdict: Verdict) -> CertInfo:
    leaf = verdict.leaf
    assert leaf is not None
    return leaf


def _same_emaid(a: str, b: str) -> bool:
    from pki.contracts import canonical_emaid

    try:
        return canonical_emaid(a) == canonical_emaid(b)
    except PkiError:
        return False


def _usable(contract: ContractRecord, now: dt.datetime) -> ContractRecord:
    status = contract.effective_status(now)
    if status is not ContractStatus.ACTIVE:
        raise _Refusal(Outcome.CONTRACT_CANCELED, f"contract {contract.emaid} is {status.value}")
    return contract


def _validity_days(contract: ContractRecord, profile: ProfileName, now: dt.datetime) -> int | None:
    """The contract certificate ends with the contract's last day when that comes first."""
    if contract.valid_to is None:
        return None
    days = (contract.valid_to - now.astimezone(dt.UTC).date()).days + 1
    default = profile_for(profile, Role.CONTRACT).default_validity_days
    return days if 0 < days < default else None


def _ev_trusts(root_ids: list[tuple[str, int]], v2g_root: CertInfo) -> bool:
    """Whether the EV lists the V2G root (by serial number, and by its CN in the issuer name: EVs
    spell distinguished names in different orders and separators). An empty list names no limit."""
    if not root_ids:
        return True
    cn = v2g_root.common_name.casefold()
    return any(serial == v2g_root.serial and cn in name.casefold() for name, serial in root_ids)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


__all__ = ["ContractInstaller", "InstallResult"]
