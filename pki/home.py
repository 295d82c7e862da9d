"""The CA home: one directory with the configuration, the SQLite store and the encrypted CA keys.

```
HOME/
  config.json          which profiles exist (algorithm, organisation, OCSP URL), the store URL when it
                       is not the SQLite file below, the PKCS#11 token when keys live in an HSM
  store.sqlite         the certificate store (WAL mode: also store.sqlite-wal, -shm)
  keys/<profile>/<role>.key.pem   encrypted PKCS#8 CA keys (mode 0600; absent with an HSM)
```
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from pki.errors import PkiError
from pki.hsm import HsmSettings
from pki.store.database import sqlite_url

CONFIG_FILE = "config.json"
STORE_FILE = "store.sqlite"
KEYS_DIR = "keys"
CONFIG_VERSION = 1


class HomeError(PkiError):
    """The home directory or its configuration is missing or unusable."""


@dataclass(frozen=True)
class ProfileSettings:
    """What ``pnc pki init`` chose for one profile; later commands reuse it."""

    algorithm: str
    organization: str
    country: str
    ocsp_url: str | None


@dataclass
class HomeConfig:
    home_id: str = field(default_factory=lambda: secrets.token_hex(4))
    db_url: str | None = None
    hsm: HsmSettings | None = None
    profiles: dict[str, ProfileSettings] = field(default_factory=dict)

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "version": CONFIG_VERSION,
            "home_id": self.home_id,
            "db_url": self.db_url,
            "hsm": None
            if self.hsm is None
            else {
                "module": self.hsm.module,
                "token_label": self.hsm.token_label,
                "pin_file": str(self.hsm.pin_file) if self.hsm.pin_file else None,
            },
            "profiles": {name: asdict(p) for name, p in sorted(self.profiles.items())},
        }
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, where: Path) -> HomeConfig:
        try:
            data = json.loads(text)
            if data.get("version") != CONFIG_VERSION:
                raise HomeError(f"{where}: unsupported configuration version {data.get('version')!r}")
            hsm = data.get("hsm")
            return cls(
                home_id=str(data["home_id"]),
                db_url=data.get("db_url"),
                hsm=None
                if hsm is None
                else HsmSettings(
                    module=str(hsm["module"]),
                    token_label=str(hsm["token_label"]),
                    pin_file=Path(hsm["pin_file"]) if hsm.get("pin_file") else None,
                ),
                profiles={name: ProfileSettings(**p) for name, p in data.get("profiles", {}).items()},
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise HomeError(f"{where}: damaged configuration ({type(exc).__name__}: {exc})") from None


def _has_password(url: str) -> bool:
    try:
        return make_url(url).password is not None
    except ArgumentError:
        return False


class Home:
    """A CA home directory (which need not exist yet: ``pnc pki init`` creates it)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def keys_dir(self) -> Path:
        return self.path / KEYS_DIR

    def key_path(self, profile: str, role: str) -> Path:
        return self.keys_dir / profile / f"{role}.key.pem"

    def exists(self) -> bool:
        return self.config_path.is_file()

    def load(self) -> HomeConfig:
        """The configuration; a home that was never initialised is a :class:`HomeError`."""
        try:
            text = self.config_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise HomeError(
                f"{self.path}: not a CA home (no {CONFIG_FILE}); create one with 'pnc pki init --home {self.path}'"
            ) from None
        except OSError as exc:
            raise HomeError(f"{self.config_path}: cannot read: {exc.strerror}") from None
        return HomeConfig.from_json(text, self.config_path)

    def load_or_new(self) -> HomeConfig:
        return self.load() if self.exists() else HomeConfig()

    def save(self, config: HomeConfig) -> None:
        """Write the configuration atomically (a crash leaves the old or the new file, never half)."""
        self.path.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".config-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(config.to_json())
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.config_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def store_url(self, config: HomeConfig | None, override: str | None = None) -> str:
        """The store's URL: ``--db``/``PNC_DB_URL`` first, then the home's record, else SQLite here."""
        if override:
            return override
        if config is not None and config.db_url:
            return config.db_url
        return sqlite_url(self.path / STORE_FILE)

    @staticmethod
    def recordable_db_url(url: str | None) -> str | None:
        """The URL to record in config.json; one with a password is never written to disk."""
        if url is None or _has_password(url):
            return None
        return url
