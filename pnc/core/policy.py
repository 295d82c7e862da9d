"""The contract policy of a home: what the installation service does for a PCID it does not know.

Off by default: an unknown PCID gets ``FAILED_NoCertificateAvailable``. Test benches can turn on
auto-provisioning: the service then registers a contract for the unknown vehicle (eMAID = the
configured country + provider prefix and an instance derived from the PCID, see
:func:`pki.contracts.provisioned_emaid`) and installs it. Kept in ``HOME/contracts.json``;
``pnc contracts policy`` shows and changes it.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pki.contracts import provisioned_emaid
from pki.errors import IdentifierError
from pnc.errors import PncError

POLICY_FILE = "contracts.json"
_EXAMPLE_PCID = "WMI00000000000000"


class PolicyError(PncError):
    """The home's contract policy file is damaged or a setting is invalid."""


@dataclass(frozen=True)
class ContractPolicy:
    """``auto_provision_prefix``: the eMAID country + provider (e.g. ``DE-PNC``) of contracts the
    installation service creates for unknown PCIDs; None (the default) creates none."""

    auto_provision_prefix: str | None = None

    def __post_init__(self) -> None:
        if self.auto_provision_prefix is not None:
            try:
                provisioned_emaid(self.auto_provision_prefix, _EXAMPLE_PCID)
            except IdentifierError as exc:
                raise PolicyError(str(exc)) from None

    @property
    def auto_provision(self) -> bool:
        return self.auto_provision_prefix is not None

    def summary(self) -> dict[str, object]:
        return {"auto_provision": self.auto_provision, "emaid_prefix": self.auto_provision_prefix}


def load_policy(home: Path) -> ContractPolicy:
    """The policy of the home (the default when it has none)."""
    path = home / POLICY_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ContractPolicy()
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = json.loads(text)
        prefix = data["auto_provision_prefix"]
        if prefix is not None and not isinstance(prefix, str):
            raise TypeError("auto_provision_prefix must be a string or null")
    except (ValueError, KeyError, TypeError) as exc:
        raise PolicyError(f"{path}: damaged contract policy ({type(exc).__name__}: {exc})") from None
    return ContractPolicy(prefix)


def save_policy(home: Path, policy: ContractPolicy) -> None:
    """Write the policy atomically (the old or the new file, never half of one)."""
    if not home.is_dir():
        raise PolicyError(f"{home}: no such home directory; create it with 'pnc pki init --home {home}'")
    fd, tmp = tempfile.mkstemp(dir=home, prefix=".contracts-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"auto_provision_prefix": policy.auto_provision_prefix}, out, indent=2)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, home / POLICY_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["ContractPolicy", "PolicyError", "load_policy", "save_policy"]
