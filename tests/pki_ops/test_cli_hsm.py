"""``pnc pki init --hsm``: every CA key generated in a SoftHSM 2 token, later commands sign there."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ops_helpers import make_pnc, pki_tools

pytestmark = pytest.mark.hsm


@pytest.mark.parametrize(("profile", "algorithm"), [("iso15118-2", "p256"), ("iso15118-20", "ed448")])
def test_hsm_home_issues_chains_openssl_verifies_and_keys_stay_in_the_token(
    softhsm: Any, tmp_path: Path, profile: str, algorithm: str
) -> None:
    import pkcs11

    pnc = make_pnc(tmp_path / "home")
    pnc.env["PNC_CA_PASSPHRASE"] = ""  # no passphrase needed: nothing is written to files
    pnc(
        "pki", "init", "--profile", profile, "--algorithm", algorithm, "--hsm", "--hsm-module", softhsm.module,
        "--hsm-token", softhsm.label, "--hsm-pin-file", softhsm.pin_file,
    )  # fmt: skip
    assert not (tmp_path / "home" / "keys").exists()
    config = json.loads((tmp_path / "home" / "config.json").read_text())
    assert config["hsm"]["token_label"] == softhsm.label

    out = tmp_path / "contract.pem"
    pnc("pki", "issue", "contract", "--emaid", "DE8AACA2B3C4D5", "--out", out)
    pnc("pki", "roots", "--out-dir", tmp_path / "roots")
    verify = pki_tools.openssl(
        "verify", "-CAfile", tmp_path / "roots" / "mo-root.pem", "-untrusted", out, out
    )
    assert verify.stdout.strip().endswith(": OK")

    with pnc.store() as store:
        refs = [ca.key_ref for ca in store.cas()]
    assert len(refs) == 25 and all(r.startswith(f"pkcs11:token={softhsm.label};object=pnc-") for r in refs)
    token = pkcs11.lib(softhsm.module).get_token(token_label=softhsm.label)
    # pnc ran in this process and is logged in already (PKCS#11 logs in per application)
    with token.open() as session:
        for ref in refs:
            label = ref.split("object=")[1]
            key = session.get_key(object_class=pkcs11.ObjectClass.PRIVATE_KEY, label=label)
            assert key[pkcs11.Attribute.EXTRACTABLE] is False and key[pkcs11.Attribute.SENSITIVE] is True
            with pytest.raises(pkcs11.AttributeSensitive):
                key[pkcs11.Attribute.VALUE]


def test_hsm_init_with_wrong_pin_is_refused_and_creates_nothing(softhsm: Any, tmp_path: Path) -> None:
    (tmp_path / "bad-pin").write_text("0000\n")
    pnc = make_pnc(tmp_path / "home")
    result = pnc(
        "pki", "init", "--hsm", "--hsm-module", softhsm.module, "--hsm-token", "no-such-token-label",
        "--hsm-pin-file", tmp_path / "bad-pin", ok=False,
    )  # fmt: skip
    assert result.exit_code == 1 and "no PKCS#11 token labelled 'no-such-token-label'" in result.stderr
    assert not (tmp_path / "home" / "config.json").exists()
