"""Pydantic's validation errors as the one :class:`~wave_sdk.errors.ConfigError` line users see.

A line names the file, the dotted key path, what is wrong and how to fix it. Validators raise
:class:`Invalid` (or :class:`CrossRefError`) to carry their own fix; :func:`config_error`
renders whatever pydantic collected, walking the raw input to tell the file's keys from
pydantic's own location tags and to find the 'did you mean' candidates.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, SecretStr, ValidationError

from wave_sdk.config.suggest import suggest
from wave_sdk.errors import ConfigError


class Invalid(ValueError):
    """A validator's complaint with its fix; :func:`config_error` shows both on one line.

    A ``ValueError`` because that is what pydantic collects from a validator; it never
    reaches users as itself (they get the :class:`~wave_sdk.errors.ConfigError`), which is
    why it lives here and not in :mod:`wave_sdk.errors`.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.hint = hint
        super().__init__(message)


class CrossRefError(Invalid):
    """A name that should refer to another section of the file, and does not.

    Raised from the whole file's validator, where pydantic would blame the root: ``key`` is
    the dotted path :func:`config_error` reports instead.
    """

    def __init__(
        self, key: str, message: str, choices: Any, *, define: str, hint: str | None = None
    ) -> None:
        self.key = key
        self.choices = sorted(choices)
        name = message.rpartition(" ")[2].strip("'")
        close = suggest(name, self.choices)
        if hint:
            pass
        elif close:
            hint = f"did you mean {close!r}? (or add [{define}])"
        elif self.choices:
            hint = f"choose one of: {', '.join(self.choices)} (or add [{define}])"
        else:
            hint = f"add [{define}] first"
        super().__init__(message, hint=hint)


def label_of(file: Path) -> str:
    """The file as error messages name it (keys are relative to ``[tool.wave]`` there)."""
    return "pyproject.toml [tool.wave]" if file.name == "pyproject.toml" else file.name


def dotted(path: tuple[Any, ...]) -> str:
    """A key path in the file's notation: ``("targets", "web", "port")`` → ``targets.web.port``."""
    return ".".join(str(p) for p in path)


_HINTS = {
    "int_parsing": "use a whole number",
    "int_type": "use a whole number",
    "int_from_float": "use a whole number",
    "float_parsing": "use a number",
    "float_type": "use a number",
    "bool_type": "use true or false",
    "bool_parsing": "use true or false",
    "string_type": "use a quoted string",
    "list_type": 'use a list, e.g. ["a", "b"]',
    "dict_type": "use a table",
    "model_type": "use a table",
    "greater_than": "use a larger value",
    "greater_than_equal": "use a larger value",
    "less_than": "use a smaller value",
    "less_than_equal": "use a smaller value",
    "too_short": "add at least one entry",
}

_TOML_TYPES = {
    bool: "a boolean",
    int: "an integer",
    float: "a float",
    str: "a string",
    list: "an array",
    dict: "a table",
}


def config_error(
    exc: ValidationError,
    file: str,
    prefix: tuple[Any, ...] = (),
    *,
    model: Any = None,
    data: Any = None,
) -> ConfigError:
    """Turn a validation error into one actionable line: file, dotted key, problem, fix.

    Pydantic's error locations mix the keys of the file with tags of its own (union members
    such as ``str`` or ``list[str]``, ``[key]`` for a dict key). Walking the raw input
    (``data``, what was validated against ``model``) along the location tells them apart:
    a part is a key of the file only if the input has it. The same walk yields the model
    at the error, whose fields are the 'did you mean' candidates.
    """
    errors = exc.errors(include_url=False)
    located = [(err, _locate(model, data, err["loc"])) for err in errors]
    first_path = located[0][1].path
    # A union reports one error per member at the same key: keep those of the member the
    # input got furthest into (a list with a bad item beats "should be a string").
    group = [(e, w) for e, w in located if w.path[: len(first_path)] == first_path]
    depth = max(len(w.path) for _, w in group)
    group = [(e, w) for e, w in group if len(w.path) == depth]
    err, where = group[0]
    loc: tuple[Any, ...] = (*prefix, *where.path)
    kind = err["type"]
    message = err["msg"]
    hint = _HINTS.get(kind)
    ctx_error = err.get("ctx", {}).get("error")
    if kind.endswith("_type") and any(isinstance(e.get("input"), SecretStr) for e, _ in group):
        # Only a type refused: an unknown key is a typo first, and a field that takes a
        # secret has its own rule to tell (a health path must start with '/').
        message = "this field does not accept a secret from ${VAR}"
        hint = "secrets belong in fields meant for them (such as env); use a literal value here"
    elif where.bad_key and kind == "value_error":
        # A key that breaks a rule (an environment or target name): the rule says why, and
        # the key (which may be long) is named in the message, cut, not in the path.
        loc = (*prefix, *where.path[:-1])
        message = message.removeprefix("Value error, ")
        hint = "rename it (and every reference to it)"
    elif kind == "extra_forbidden" or where.bad_key:
        bad = str(where.path[-1])
        choices = where.choices
        close = suggest(bad, choices)
        message = f"unknown key {bad!r}"
        hint = (
            f"did you mean {close!r}?"
            if close
            else (f"known keys: {', '.join(choices)}" if choices else "remove it")
        )
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        message = f"must be a table, not {_TOML_TYPES.get(type(err.get('input')), 'that')}"
        hint = f"write it as [{dotted(loc)}] with its keys below, or {{ key = value, … }}"
    elif kind == "missing":
        message = "required key is missing"
        hint = f"add {loc[-1]} = …"
    elif isinstance(ctx_error, CrossRefError):
        loc = (*prefix, *ctx_error.key.split("."))
        message = str(ctx_error)
        hint = ctx_error.hint
    elif isinstance(ctx_error, Invalid):
        message = str(ctx_error)
        hint = ctx_error.hint
    elif kind == "value_error" or kind == "assertion_error":
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    else:
        if len(group) > 1:  # several union members at one key: "a string or a list"
            parts = dict.fromkeys(e["msg"].removeprefix("Input should be ") for e, _ in group)
            message = "Input should be " + " or ".join(parts)
            hints = [h for h in dict.fromkeys(_HINTS.get(e["type"]) for e, _ in group) if h]
            hint = " or ".join(hints) or hint
        value = err.get("input")
        got = _TOML_TYPES.get(type(value))
        if kind.endswith(("_type", "_parsing")) and got:
            # "Input should be a valid integer, not a string 'two'": what it got, not why.
            shown = f" {value!r}" if isinstance(value, (str, int, float)) else ""
            message = f"{message.split(', ')[0]}, not {got}{shown if len(shown) <= 40 else ''}"
        if kind.startswith("literal") and err.get("ctx", {}).get("expected"):
            hint = f"use one of {err['ctx']['expected']}"
    return ConfigError(
        message,
        file=file,
        key=dotted(loc) or None,
        hint=hint or "see `wave config schema` for what this key accepts",
    )


class _Where:
    """Where an error is in the file: the key path, and the keys allowed beside the last."""

    def __init__(self) -> None:
        self.path: list[str | int] = []
        self.choices: list[str] = []
        self.bad_key = False


def _locate(model: Any, data: Any, loc: tuple[Any, ...]) -> _Where:
    """Follow ``loc`` through the raw input ``data`` and the type ``model`` it was checked as.

    Parts the input does not have are pydantic's tags and are dropped — except a missing
    key, which the model at that point declares.
    """
    where = _Where()
    if data is None:  # nothing to walk: keep what does not look like a tag
        where.path = [p for p in loc if not (isinstance(p, str) and "[" in p)]
        return where
    node, annotation, parent = data, model, None
    for part in loc:
        container = _narrow(annotation, node)
        if part == "[key]" and where.path:
            # A dict key of the wrong kind (``[approvals] deplyo = …``): the key is the error.
            where.bad_key = True
            where.choices = _literal_choices(parent)
            continue
        parent = container
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            where.choices = keys_of(container)
            where.path.append(part)
            node, annotation = node[part], _member(container, part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            where.choices = []
            where.path.append(part)
            node, annotation = node[part], _member(container, part)
        elif isinstance(node, dict) and isinstance(part, str) and part in keys_of(container):
            where.choices = keys_of(container)  # a required key that is missing
            where.path.append(part)
            node, annotation = None, _member(container, part)
    return where


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _narrow(annotation: Any, node: Any) -> Any:
    """The member of a union (``str | list[str]``, ``X | None``) that fits ``node``'s shape."""
    annotation = _unwrap(annotation)
    if get_origin(annotation) not in (typing.Union, types.UnionType):
        return annotation
    members = [_unwrap(m) for m in get_args(annotation)]
    for member in members:
        origin = get_origin(member) or member
        if isinstance(node, dict) and (_is_model(member) or origin is dict):
            return member
        if isinstance(node, list) and origin in (list, tuple, set, frozenset):
            return member
    return members[0]


def _member(container: Any, part: str | int) -> Any:
    """The declared type of ``container[part]``; ``None`` when unknown (extra keys)."""
    if _is_model(container):
        field = _field(container, str(part))
        return field.annotation if field is not None else None
    origin, args = get_origin(container), get_args(container)
    if origin is dict and len(args) == 2:
        return args[1]
    if origin in (list, set, frozenset) and args:
        return args[0]
    if origin is tuple and args:
        return args[0] if len(args) == 2 and args[1] is Ellipsis else None
    return None


def _field(model: type[BaseModel], key: str) -> Any:
    for name, field in model.model_fields.items():
        if key in (name, field.alias) and not field.exclude:
            return field
    return None


def keys_of(container: Any) -> list[str]:
    """The keys a table of type ``container`` may have (empty when any key goes)."""
    if not _is_model(container):
        return []
    return sorted(
        field.alias or name for name, field in container.model_fields.items() if not field.exclude
    )


def _literal_choices(container: Any) -> list[str]:
    args = get_args(container)
    key = _unwrap(args[0]) if get_origin(container) is dict and args else None
    return [str(a) for a in get_args(key)] if get_origin(key) is Literal else []
