"""Legacy JSON discovery: ``/version``, ``/api``, ``/apis`` and the resource lists.

kubectl 1.32 and 1.37 ask for aggregated discovery first and fall back to these documents
when the answer is plain ``application/json``, as an older server's would be.
"""

from __future__ import annotations

from wave_sdk_kubernetes.fake.objects import Obj
from wave_sdk_kubernetes.fake.store import RESOURCES

SERVER_VERSION = {"major": "1", "minor": "37", "gitVersion": "v1.37.1-wave-fake"}
VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def version() -> Obj:
    return {
        **SERVER_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-11-27T00:00:00Z",
        "goVersion": "go1.25.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def core_versions(address: str) -> Obj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
    }


def _group(name: str) -> Obj:
    version = {"groupVersion": f"{name}/v1", "version": "v1"}
    return {"name": name, "versions": [version], "preferredVersion": version}


def groups() -> Obj:
    names = sorted({r.group for r in RESOURCES.values() if r.group})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(n) for n in names]}


def group(name: str) -> Obj | None:
    if not any(r.group == name for r in RESOURCES.values()):
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name)}


def resources(group_version: str) -> Obj | None:
    listed = [r for r in RESOURCES.values() if r.api_version == group_version]
    if not listed:
        return None
    out: list[Obj] = []
    for r in listed:
        out.append(
            {
                "name": r.plural,
                "singularName": r.kind.lower(),
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": VERBS,
                "shortNames": list(r.short_names),
                **({"categories": ["all"]} if r.namespaced else {}),
            }
        )
        for sub in r.subresources:
            entry: Obj = {
                "name": f"{r.plural}/{sub}",
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": ["get", "patch", "update"],
            }
            if sub == "scale":
                entry.update(kind="Scale", group="autoscaling", version="v1")
            out.append(entry)
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": out,
    }


# -- OpenAPI v3, only as far as kubectl reads it --------------------------------------------
# `kubectl apply` (validation "strict", the default) asks /openapi/v3 whether PATCH of the
# kind takes the `fieldValidation` query parameter; if so it leaves validation to the
# server instead of failing with "failed to download openapi". The PATCH operations carry
# no requestBody, so kubectl computes apply patches from its built-in types, as it does
# against any server whose OpenAPI lacks strategic-merge metadata. No schemas are served.


def openapi_root() -> Obj:
    versions = sorted({r.api_version for r in RESOURCES.values()})
    return {
        "paths": {
            _openapi_prefix(gv): {"serverRelativeURL": f"/openapi/v3/{_openapi_prefix(gv)}?hash=0"}
            for gv in versions
        }
    }


def openapi_group_version(prefix: str) -> Obj | None:
    listed = [r for r in RESOURCES.values() if _openapi_prefix(r.api_version) == prefix]
    if not listed:
        return None
    paths: Obj = {}
    for r in listed:
        scope = "/namespaces/{namespace}" if r.namespaced else ""
        gvk = {"group": r.group, "version": r.version, "kind": r.kind}
        paths[f"/{prefix}{scope}/{r.plural}/{{name}}"] = {
            "patch": {
                "operationId": f"patch{r.kind}",
                "x-kubernetes-group-version-kind": gvk,
                "x-kubernetes-action": "patch",
                "parameters": [
                    {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}
                ],
                "responses": {"200": {"description": "OK"}},
            }
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (wave fake)", "version": SERVER_VERSION["gitVersion"]},
        "paths": paths,
        "components": {"schemas": {}},
    }


def _openapi_prefix(group_version: str) -> str:
    return f"apis/{group_version}" if "/" in group_version else f"api/{group_version}"
