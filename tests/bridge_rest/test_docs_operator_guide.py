"""docs/operator-guide.md runs: every ```sh example in order in a fresh directory against a real
``pnc serve`` it starts (the port of the examples replaced by a free one); and the guide covers
every REST route, every ``pnc serve`` option, every error code and every metric."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import click
from ops_helpers import Pnc
from rest_helpers import RestOnly

from pki.ca import CaService
from pki.home import Home

DOC = Path(__file__).resolve().parents[2] / "docs" / "operator-guide.md"
EXAMPLE_PORT = "9000"


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"^```{kind}\n(.*?)^```", DOC.read_text(encoding="utf-8"), flags=re.S | re.M)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_every_example_in_the_operator_guide_runs(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PNC_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    script = "\n".join(_blocks("sh")).replace(EXAMPLE_PORT, str(_free_port()))
    # whatever happens, the server the examples start is stopped
    guarded = "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + script
    shell = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", guarded],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert shell.returncode == 0, f"{shell.stdout[-4000:]}\n{shell.stderr[-4000:]}"
    assert '"status":"ok"' in shell.stdout
    assert '"certificateStatus":"Accepted"' in (tmp_path / "accepted.json").read_text()
    assert "station-not-connected" in (tmp_path / "offline.json").read_text()
    assert '"field":"validTo"' in (tmp_path / "error.json").read_text()


def test_the_guide_covers_every_route_option_error_and_metric(pnc: Pnc) -> None:
    from pnc.cli.serve_cmd import serve
    from pnc.server.metrics import Metrics
    from pnc.server.rest import PREFIX, build_router
    from pnc.server.rest.errors import __doc__ as errors_doc

    text = DOC.read_text(encoding="utf-8")
    with CaService(Home(pnc.home)) as service:
        router = build_router(RestOnly(service, metrics=Metrics()))  # type: ignore[arg-type]
    for route in router.routes:
        path = PREFIX + str(getattr(route, "path", ""))
        # a {parameter} may appear in the guide under another name or as an example value
        pattern = re.sub(r"\\\{[a-z_]+\\\}", r"(\\{[a-z_]+\\}|[^/\\s`\"?]+)", re.escape(path))
        assert re.search(pattern + r"(?![a-z-])", text), path
    for param in serve.params:
        if isinstance(param, click.Option) and "--help" not in param.opts:
            assert re.search(re.escape(param.opts[0]) + r"(?![a-z-])", text), param.opts[0]
    assert errors_doc is not None
    for code in re.findall(r"^([a-z-]+)\s+\d{3}\s", errors_doc, flags=re.M):
        assert f"| `{code}` |" in text, code
    metrics = Metrics()
    build_router(RestOnly(CaService(Home(pnc.home)), metrics=metrics))  # type: ignore[arg-type]
    for line in metrics.render().splitlines():
        if line.startswith("# TYPE "):
            assert f"`{line.split()[2]}`" in text, line
