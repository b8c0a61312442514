"""The service's OpenAPI document: `python -m service.openapi --write docs/openapi.json` writes it, `--check`
fails when the checked-in file differs from what the app serves."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from service.app import create_app
from service.config import ServiceConfig

DOCS = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"


def spec() -> dict[str, Any]:
    """Give the app's OpenAPI document (the routes do not depend on the paths configured)."""
    app = create_app(ServiceConfig(state=Path("state.duckdb"), out=Path("out")), background=False)
    return app.openapi()


def render() -> str:
    """Give the document as the checked-in file holds it."""
    return json.dumps(spec(), indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, help="write the document to this file")
    parser.add_argument("--check", type=Path, help="exit 1 when this file differs from the app's document")
    args = parser.parse_args(argv)
    text = render()
    if args.write:
        args.write.write_text(text, encoding="utf-8")
        print(f"wrote {args.write}")
    if args.check:
        if not args.check.exists() or args.check.read_text(encoding="utf-8") != text:
            print(f"{args.check} differs from the app: run `python -m service.openapi --write {args.check}`")
            return 1
        print(f"{args.check} matches the app")
    if not (args.write or args.check):
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
