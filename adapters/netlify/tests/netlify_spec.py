"""Every answer of the fake checked against Netlify's published spec (Swagger 2.0).

Responses strictly: the operation's schema for that status (or ``default``), and no
property the spec does not name (a typo in the fake fails here). Requests leniently (notes
§5): the body's known fields must have the spec's types; unknown fields are allowed, since
netlify-cli sends some (``deploy_source``, ``build_version``). openapi-core reads only
OpenAPI 3, so the schemas are checked with jsonschema (Draft 4, which Swagger 2.0's
schemas are a dialect of).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator
from wave_sdk_netlify.fake import Exchange

SPEC_IN_PACKAGE = Path("node_modules/@netlify/open-api/dist/swagger.json")
"""Where ``npm install @netlify/open-api@2.60.0`` puts the spec (scripts/install-test-deps)."""


def strict(schema: Any) -> Any:
    """``schema`` with ``additionalProperties: false`` wherever properties are listed."""
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("properties"), dict):
                node.setdefault("additionalProperties", False)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


class SpecCheck:
    """An observer for :class:`FakeNetlify`: collects every violation it sees."""

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
            self._validators[key] = Draft4Validator(strict(schema) if strictly else schema)
        return self._validators[key]

    def operation(self, method: str, template: str) -> dict[str, Any]:
        paths = self.spec["paths"]
        assert template in paths, f"the fake serves {template}, which the spec lacks"
        op: dict[str, Any] = paths[template][method.lower()]
        return op

    def __call__(self, exchange: Exchange) -> None:
        if not exchange.template:
            return  # outside /api/v1 (the integrations routes @netlify/config reads)
        where = f"{exchange.method} {exchange.template} {exchange.status}"
        self.checked.append(where)
        op = self.operation(exchange.method, exchange.template)
        answers = op["responses"]
        answer = answers.get(str(exchange.status))
        if answer is None and exchange.status < 400:
            self.violations.append(f"{where}: the spec declares no {exchange.status} here")
            return
        answer = answer or answers["default"]
        schema = answer.get("schema")
        if schema is None:
            if exchange.response is not None:
                self.violations.append(f"{where}: a body where the spec has none")
        else:
            check = self.validator(where, schema, strictly=True)
            for error in check.iter_errors(exchange.response):
                self.violations.append(f"{where}: response {error.json_path}: {error.message}")
        for param in op.get("parameters", []):
            if param.get("in") == "body" and exchange.request is not None:
                body_schema = param["schema"]
                if body_schema.get("type") == "string":  # raw bytes (uploads)
                    continue
                lenient = self.validator(where, body_schema, strictly=False)
                for error in lenient.iter_errors(exchange.request):
                    self.violations.append(f"{where}: request {error.json_path}: {error.message}")
