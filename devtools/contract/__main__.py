"""./dev contract [--check] [--root DIR]: generate every form of the contract from its
model, or (--check) exit 1 naming each generated file that is stale or missing."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from devtools.contract import ROOT, stale, write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev contract", description=__doc__)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    parser.add_argument("--root", type=Path, default=ROOT, help="the tree to check or write")
    args = parser.parse_args(argv)
    if args.check:
        found = stale(args.root)
        for path in found:
            why = "differs from" if (args.root / path).is_file() else "is missing, unlike"
            print(f"contract: {path} {why} what the model generates: run ./dev contract")
        return 1 if found else 0
    for path in write(args.root):
        print(f"contract: wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
