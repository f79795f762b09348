"""The three patch types of ``PATCH``: JSON patch, merge patch, strategic merge patch.

JSON patch (RFC 6902) is the ``jsonpatch`` package's. Merge patch (RFC 7386) is ten lines.
Strategic merge patch has no Python implementation outside client-go's Go code, so it is
written here for the fields a Deployment's clients touch: lists merged by key
(``containers`` by ``name``, ``ports`` by ``containerPort``, ``volumeMounts`` by
``mountPath``, …), ``null`` deleting a key, and the directives kubectl sends —
``$patch: delete|replace``, ``$setElementOrder/<list>``, ``$retainKeys`` and
``$deleteFromPrimitiveList/<list>``.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch

from wave_sdk_kubernetes.fake.objects import Invalid

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH)

# patchMergeKey of the list fields (k8s.io/api/core/v1/types.go): lists not named here are
# replaced whole, as the real server does for atomic lists.
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "imagePullSecrets": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "ports": "containerPort",
    "conditions": "type",
    "ownerReferences": "uid",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "tolerations": "key",
}
# Lists of scalars merged as sets (patchStrategy "merge" on a primitive list).
MERGED_PRIMITIVE_LISTS = frozenset({"finalizers"})


def apply_patch(content_type: str, original: dict[str, Any], body: Any) -> dict[str, Any]:
    """``original`` with ``body`` applied as ``content_type`` says; ``Invalid`` if it can't be."""
    if content_type == JSON_PATCH:
        if not isinstance(body, list):
            raise Invalid("json patch must be a list of operations")
        try:
            result = jsonpatch.apply_patch(original, body)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            raise Invalid(str(exc)) from exc
    elif not isinstance(body, dict):
        raise Invalid(f"{content_type} patch must be a JSON object")
    elif content_type == MERGE_PATCH:
        result = merge_patch(original, body)
    else:
        result = strategic_merge(original, body)
    if not isinstance(result, dict):
        raise Invalid("the patch does not leave an object")
    return result


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def strategic_merge(target: Any, patch: Any) -> Any:
    """A strategic merge patch applied to ``target`` (a dict), per the rules above."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    out = dict(target) if isinstance(target, dict) else {}
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/"):
            orders[key.split("/", 1)[1]] = value
        elif key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            out[name] = [v for v in out.get(name) or [] if v not in value]
        elif key in ("$retainKeys", "$patch"):
            continue
        elif value is None:
            out.pop(key, None)
        elif isinstance(value, list):
            out[key] = _merge_list(key, out.get(key), value)
        else:
            out[key] = strategic_merge(out.get(key), value)
    if "$retainKeys" in patch:
        keep = set(patch["$retainKeys"])
        out = {k: v for k, v in out.items() if k in keep}
    for name, order in orders.items():
        if isinstance(out.get(name), list):
            out[name] = _ordered(name, out[name], order)
    return out


def _merge_list(name: str, current: Any, patch: list[Any]) -> list[Any]:
    key = MERGE_KEYS.get(name)
    if key is None:
        if name in MERGED_PRIMITIVE_LISTS and isinstance(current, list):
            return [*current, *(v for v in patch if v not in current)]
        return copy.deepcopy(patch)
    items = [copy.deepcopy(i) for i in current] if isinstance(current, list) else []
    for element in patch:
        if not isinstance(element, dict) or key not in element:
            if isinstance(element, dict) and element.get("$patch") == "replace":
                return [copy.deepcopy(e) for e in patch if e.get("$patch") != "replace"]
            raise Invalid(f"map in {name} lacks the merge key {key!r}: {element!r}")
        index = next((i for i, item in enumerate(items) if item.get(key) == element[key]), None)
        if element.get("$patch") == "delete":
            if index is not None:
                del items[index]
        elif index is None:
            items.append(strategic_merge({}, element))
        else:
            items[index] = strategic_merge(items[index], element)
    return items


def _ordered(name: str, items: list[Any], order: list[Any]) -> list[Any]:
    """``$setElementOrder``: the listed elements first, in that order, then the others."""
    key = MERGE_KEYS.get(name)

    def ident(item: Any) -> Any:
        return item.get(key) if key and isinstance(item, dict) else item

    wanted = [ident(o) for o in order]
    rank = {w: i for i, w in enumerate(wanted)}
    return sorted(items, key=lambda item: rank.get(ident(item), len(rank)))
