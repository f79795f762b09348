"""Signed approvals: HMAC-SHA256 over a canonical form of the record.

Anyone who can write to the project directory can write an approval record or a signal
file; a signature is what tells the approvals someone holding ``[approvals] key`` made
from those anyone could have written. The signed bytes are the record as JSON with its
keys sorted, no whitespace, UTF-8, without the ``signature`` field itself (and without
``source``, which says where wave found the record, not what was approved) — so the same
approval read back from a file or a store signs the same, and any edited field breaks it.

The standard library's :mod:`hmac` does the work; what is written here is only which bytes
are signed, which no library can decide for us. HMAC is symmetric: whoever can check a
signature can make one, so the key belongs to the approvers and to the machine that
deploys, never to the agents or people who only write code (docs/concepts.md#trust).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wave_sdk.models import Approval

PREFIX = "hmac-sha256:"
UNSIGNED_FIELDS = frozenset({"signature", "source"})


def canonical(record: Mapping[str, object]) -> bytes:
    """The bytes a signature covers: ``record`` without its signature, as canonical JSON."""
    kept = {k: v for k, v in record.items() if k not in UNSIGNED_FIELDS}
    return json.dumps(
        kept, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode()


def sign(record: Mapping[str, object], key: str) -> str:
    """The signature of ``record`` under ``key``: ``hmac-sha256:<hex>``."""
    mac = hmac.new(key.encode(), canonical(record), hashlib.sha256)
    return PREFIX + mac.hexdigest()


def problem(record: Mapping[str, object], key: str) -> str | None:
    """Why ``record`` is not validly signed under ``key``; ``None`` when it is."""
    signature = record.get("signature")
    if not signature:
        return "it is not signed"
    if not isinstance(signature, str) or not signature.startswith(PREFIX):
        return f"its signature is not {PREFIX}<hex>"
    if not hmac.compare_digest(signature, sign(record, key)):
        return "its signature does not match its content (edited, or signed with another key)"
    return None


def approval_fields(approval: Approval) -> dict[str, object]:
    """An :class:`~wave_sdk.models.Approval` as the mapping its signature covers."""
    return approval.model_dump(mode="json")


def sign_approval(approval: Approval, key: str) -> Approval:
    """``approval`` with its signature set."""
    return approval.model_copy(update={"signature": sign(approval_fields(approval), key)})


def approval_problem(approval: Approval, key: str) -> str | None:
    """Why a recorded approval's signature does not hold; ``None`` when it does."""
    return problem(approval_fields(approval), key)
