"""``python -m v2g.codegen [--out DIR]``: regenerates ``v2g/_tables`` and ``v2g/messages`` from ``v2g/schemas``."""

from __future__ import annotations

import argparse
from pathlib import Path

from v2g.codegen.generate import generate


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m v2g.codegen", description=__doc__)
    ap.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent.parent, help="the v2g package folder"
    )
    args = ap.parse_args()
    for path in generate(args.out):
        print(path)


if __name__ == "__main__":
    main()
