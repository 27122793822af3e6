"""Every service's OpenAPI document as docs/openapi/<service>.json: `python -m hub.openapi` writes them,
`--check` exits 1 naming each that differs from what its service serves (tests/unit/test_api_standards.py
keeps them current and lints them with Spectral and tools/spectral/adr.yaml)."""
from __future__ import annotations

import json
import sys

from hub.registry import service_class
from shared.config import REPO_ROOT
from shared.names import SERVICES

FOLDER = REPO_ROOT / "docs" / "openapi"


def text(name: str) -> str:
    return json.dumps(service_class(name).openapi_document(), indent=2, sort_keys=True, default=str) + "\n"


def path_of(name: str):
    return FOLDER / f"{name}.json"


def main(argv: list[str]) -> int:
    stale = [name for name in SERVICES if not path_of(name).exists() or path_of(name).read_text() != text(name)]
    if "--check" in argv:
        for name in stale:
            print(f"{path_of(name).relative_to(REPO_ROOT)} is stale: python -m hub.openapi", file=sys.stderr)
        return 1 if stale else 0
    for name in stale:
        path_of(name).write_text(text(name))
        print(f"wrote {path_of(name).relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
