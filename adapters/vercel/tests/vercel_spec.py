"""Every answer of the fake checked against Vercel's published spec (OpenAPI 3.0.3).

Responses strictly: the operation's schema for that status, and no property the spec does
not name (a typo in the fake fails here). Requests leniently (notes §5): the body's known
fields must have the spec's types; unknown ones are allowed, since the vercel CLI sends
``version``, ``source``, ``mode`` on each file and more (so a ``oneOf`` of objects, open,
is read as ``anyOf``). OpenAPI 3.0's ``nullable`` is
rewritten into JSON Schema's ``null`` type, and the schemas checked with jsonschema
(Draft 4, of which OpenAPI 3.0's schema object is a dialect), ``$ref`` resolved against the
spec's own components.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator
from wave_sdk_vercel.fake import Exchange

SPEC_IN_PACKAGE = Path("node_modules/@vercel/sdk/vercel-spec.json")
"""Where ``npm install @vercel/sdk@1.16.1`` puts the spec (scripts/install-test-deps)."""


def dialect(schema: Any, *, strictly: bool) -> Any:
    """``schema`` as JSON Schema: ``nullable`` as a ``null`` type; strictly, closed objects."""
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(v) for v in node]
        if not isinstance(node, dict):
            return node
        node = {k: walk(v) for k, v in node.items()}
        if strictly and isinstance(node.get("properties"), dict):
            node.setdefault("additionalProperties", False)
        elif not strictly:
            if node.get("additionalProperties") is False:
                del node["additionalProperties"]
            if "oneOf" in node:  # open objects match several branches: any one will do
                node["anyOf"] = node.pop("oneOf")
        if node.pop("nullable", False):
            if isinstance(node.get("type"), str):
                node["type"] = [node["type"], "null"]
                if "enum" in node:
                    node["enum"] = [*node["enum"], None]
            else:
                return {"anyOf": [node, {"type": "null"}]}
        return node

    return walk(schema)


class SpecCheck:
    """An observer for :class:`FakeVercel`: collects every violation it sees."""

    def __init__(self, spec_path: Path) -> None:
        self.spec = json.loads(spec_path.read_text())
        self.violations: list[str] = []
        self.checked: list[str] = []
        """``METHOD template status`` of each answer checked, in order."""
        self._validators: dict[tuple[str, bool], Draft4Validator] = {}

    def validator(self, where: str, schema: Any, *, strictly: bool) -> Draft4Validator:
        """One validator per operation and status (thousands of uploads stay cheap)."""
        key = (where, strictly)
        if key not in self._validators:
            components = {"schemas": self.spec["components"]["schemas"]}
            whole = {"allOf": [schema], "components": components}
            self._validators[key] = Draft4Validator(dialect(whole, strictly=strictly))
        return self._validators[key]

    def operation(self, method: str, template: str) -> dict[str, Any]:
        paths = self.spec["paths"]
        assert template in paths, f"the fake serves {template}, which the spec lacks"
        op: dict[str, Any] = paths[template][method.lower()]
        return op

    def __call__(self, exchange: Exchange) -> None:
        if not exchange.template:
            return  # rollback and /teams: the saved spec lacks them (notes §5.9)
        where = f"{exchange.method} {exchange.template} {exchange.status}"
        self.checked.append(where)
        op = self.operation(exchange.method, exchange.template)
        answer = op["responses"].get(str(exchange.status))
        if answer is None:
            if exchange.status < 400:
                self.violations.append(f"{where}: the spec declares no {exchange.status} here")
            return  # errors the spec does not list (429 above all: notes §5.8)
        content = answer.get("content", {}).get("application/json")
        if content is None or "schema" not in content:
            if exchange.response is not None and exchange.status < 400:
                self.violations.append(f"{where}: a body where the spec has none")
        else:
            check = self.validator(where, content["schema"], strictly=True)
            for error in check.iter_errors(exchange.response):
                self.violations.append(f"{where}: response {error.json_path}: {error.message}")
        body = op.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None and exchange.request is not None:
            lenient = self.validator(where + " request", body["schema"], strictly=False)
            for error in lenient.iter_errors(exchange.request):
                self.violations.append(f"{where}: request {error.json_path}: {error.message}")
