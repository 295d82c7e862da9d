"""The tests of v2g.session share the throwaway ISO 15118 PKI of the v2g.security tests."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "v2g"))
