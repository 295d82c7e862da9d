"""RFC 5019 GET paths as clients really send them: percent-encoded, raw '/' and '+', URL-safe
alphabet, missing padding."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest

from pnc.ocsp_http import decode_get_path

# bytes whose base64 holds '+', '/' and padding
REQUEST = bytes.fromhex("3051304f304d304b3049300906052b0e03021a05000414fbff") + b"\xfb\xff\xfe"


@pytest.mark.parametrize(
    "path",
    [
        "/" + quote(base64.b64encode(REQUEST).decode(), safe=""),  # RFC 5019: base64, then URL-encoded
        "/" + base64.b64encode(REQUEST).decode(),  # '/' and '+' left as they are
        "/" + base64.urlsafe_b64encode(REQUEST).decode().rstrip("="),  # URL-safe, no padding
    ],
)
def test_get_path_spellings_decode_to_the_request(path: str) -> None:
    assert decode_get_path(path) == REQUEST


@pytest.mark.parametrize("path", ["/", "/%%%", "/not base64!"])
def test_undecodable_paths_are_none(path: str) -> None:
    assert decode_get_path(path) is None
