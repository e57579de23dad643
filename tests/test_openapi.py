"""The OpenAPI document is the route table: every route is in it, nothing else is, and it is served."""

from __future__ import annotations

import re

import schemathesis
from schemathesis.core.result import Ok

from lockstep.api import openapi
from lockstep.api.routing import Router
from tests.support import Server
from tests.test_route_table import route_table


def _routes(router: Router) -> set[tuple[str, str]]:
    return {(openapi.PREFIX + r.template, "post" if r.method == "*" else r.method.lower()) for r in router.routes}


def _documented(doc: dict[str, object]) -> set[tuple[str, str]]:
    paths = doc["paths"]
    assert isinstance(paths, dict)
    return {(path, method) for path, item in paths.items() for method in item}


def test_every_route_and_nothing_else_is_documented() -> None:
    router = route_table()
    doc = openapi.document(router)
    assert doc["openapi"] == "3.1.0"
    assert _documented(doc) == _routes(router)


def test_operations_carry_parameters_versions_actions_and_bodies() -> None:
    router = route_table()
    doc = openapi.document(router)
    for route in router.routes:
        method = "post" if route.method == "*" else route.method.lower()
        operation = doc["paths"][openapi.PREFIX + route.template][method]
        names = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
        assert names == {"project_id", *re.findall(r"\{(\w+)\}", route.template)}
        assert {"min": str(route.scope.min), "max": str(route.scope.max) if route.scope.max else None,
                "experimental": route.scope.experimental,
                "graduated": str(route.scope.graduated) if route.scope.graduated else None,
                "action": route.action} in operation["x-lockstep-versions"]
        if route.paged:
            assert {"limit", "offset"} <= {p["name"] for p in operation["parameters"] if p["in"] == "query"}
        schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        if route.action is not None:
            assert {"type": "object", "required": [route.action], "properties": {route.action: openapi.ACTION_ARGS.get(
                route.action, {})}, "additionalProperties": False} in schema["oneOf"]
        elif route.envelope is not None:
            assert schema["required"] == [route.envelope.key]
        if route.method in ("POST", "PUT"):
            assert schema is not None, (route.method, route.template)
        assert operation["responses"]["4XX"]["content"]["application/json"]["schema"]["maxProperties"] == 1


def test_the_document_loads_as_openapi_and_every_operation_generates() -> None:
    doc = openapi.document(route_table())
    schema = schemathesis.openapi.from_dict(doc)
    loaded = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        loaded.append(result.ok())
    assert len(loaded) == len(_documented(doc))
    for operation in loaded:
        operation.as_strategy()  # a schema the generator cannot read fails here


def test_served_without_a_token(server: Server) -> None:
    resp = server.http.get(f"{server.url}/openapi.json")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.json() == openapi.document(route_table())
    refused = server.http.post(f"{server.url}/openapi.json")
    assert refused.status_code == 404 and "itemNotFound" in refused.json()
