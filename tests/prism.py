"""Stoplight's Prism (tools/node) in mock mode over a vendored OpenAPI document: a server that validates every
request against the document and answers 422 (or 401) with the violations when one breaks it, else a 2xx
built from the document. The ZGW Zaken API and the Verwerkingenlogging API tests talk to it instead of a
hand-written fake."""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import yaml

from shared.config import REPO_ROOT

NODE_TOOLS = REPO_ROOT / "tools" / "node"
PRISM = NODE_TOOLS / "node_modules" / "@stoplight" / "prism-cli" / "dist" / "index.js"
ZAKEN_API = REPO_ROOT / "tools" / "zgw" / "zaken-api-1.5.1.yaml"
VERWERKINGENLOGGING_API = REPO_ROOT / "tools" / "verwerkingenlogging" / "verwerkingenlogging-bewerking-api-0.9.0.yaml"


def available() -> str | None:
    """None when Prism can run here, else why not."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not PRISM.exists():
        return "run `make node-tools` first (installs @stoplight/prism-cli into tools/node)"
    return None


def nullable_for_ajv(node):
    """A schema with each `nullable: true` that has no `type` beside it (VNG's documents say
    `allOf: [enum], nullable: true`) written as `anyOf: [it, null]`: the same values, in words ajv compiles."""
    if isinstance(node, list):
        return [nullable_for_ajv(v) for v in node]
    if not isinstance(node, dict):
        return node
    node = {k: nullable_for_ajv(v) for k, v in node.items()}
    if node.get("nullable") is True and "type" not in node:
        return {"anyOf": [{k: v for k, v in node.items() if k != "nullable"}, {"type": "null"}]}
    return node


def validating(document: dict) -> dict:
    """The document with each request body's schema written out in place (its $refs resolved, a cycle left as
    a $ref) and its `nullable`s in words ajv compiles. Prism compiles each schema with ajv, which refuses a
    `nullable` without `type`, and then skips that body's validation without a word: POST /zaken answered
    201 to `{"bronorganisatie": 12}`. Only the request side changes (the bodies accepted are the same), so
    Prism's mock answers are built from the published text."""
    schemas = document.get("components", {}).get("schemas", {})

    def resolve(node, seen):
        if isinstance(node, list):
            return [resolve(v, seen) for v in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            return node if name in seen else resolve(schemas[name], seen | {name})
        return {k: resolve(v, seen) for k, v in node.items()}

    for item in document["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                for media in operation["requestBody"].get("content", {}).values():
                    media["schema"] = nullable_for_ajv(resolve(media["schema"], frozenset()))
    return document


class Prism:
    def __init__(self, document: Path, port: int):
        self.document, self.port = document, port
        self.url = f"http://127.0.0.1:{port}"
        self.folder = Path(tempfile.mkdtemp(prefix="mh_test_prism_"))
        self.process = None
        self.lines: list[str] = []

    def start(self):
        self.log = open(self.folder / "prism.log", "w+")
        served = self.folder / "openapi.json"
        served.write_text(json.dumps(validating(yaml.safe_load(self.document.read_text(encoding="utf-8")))))
        # --errors: a request that breaks the document is answered with its violations, never a mock
        self.process = subprocess.Popen(
            ["node", str(PRISM), "mock", "--host", "127.0.0.1", "--port", str(self.port), "--errors",
             str(served)], stdout=subprocess.PIPE, stderr=self.log, text=True)
        seen = []
        for line in self.process.stdout:
            seen.append(line)
            if "Prism is listening" in line:
                # keep reading what it says of each request, or its pipe fills and it stops answering
                self.lines = seen
                threading.Thread(target=lambda: seen.extend(self.process.stdout), daemon=True).start()
                return self
            if len(seen) > 400:
                break
        self.stop()
        raise RuntimeError("Prism did not start: " + "".join(seen[-20:]))

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.folder, ignore_errors=True)
