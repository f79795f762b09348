"""The bucket as the store sees it: whole objects, conditional writes, one error type.

This is the only module that imports boto3, and it does so the first time a request is
made (never when wave starts, lists plugins or validates the configuration). Every
botocore failure is turned into a :class:`~wave_sdk.errors.StateError` naming the bucket and
what to check — except a failed precondition, which is :class:`Conflict`: that is the
answer a conditional write exists to give, and the callers decide what it means.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wave_sdk.errors import StateError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from wave_sdk_s3.settings import S3Settings

# 412: the precondition did not hold. 409: S3 answers a conditional write that raced
# another one on the same key with ConditionalRequestConflict — the same "someone else won".
_CONFLICT = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}
_MISSING = {"NoSuchKey", "404", "NotFound"}
_REACH_HINT = "check [state.s3] endpoint_url and region, and that the service answers"


class Conflict(Exception):
    """A conditional write or delete lost: the object is not as the caller expected."""


class Bucket:
    """Objects under one bucket, with the settings' encryption on every write.

    Thread-safe: the run's heartbeat renews the lock from another thread, and boto3
    clients are safe to share once created (creation is guarded).
    """

    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        self.name = settings.bucket
        self._client: S3Client | None = None
        self._guard = threading.Lock()

    # -- the client ----------------------------------------------------------------------

    @property
    def client(self) -> S3Client:
        with self._guard:
            if self._client is None:
                import boto3
                from botocore.config import Config

                session = boto3.session.Session(profile_name=self.settings.profile)
                self._client = session.client(
                    "s3",
                    endpoint_url=self.settings.endpoint_url,
                    region_name=self.settings.region,
                    config=Config(
                        connect_timeout=self.settings.timeout,
                        read_timeout=self.settings.timeout,
                        retries={"max_attempts": 4, "mode": "standard"},
                    ),
                )
            return self._client

    def _encryption(self) -> dict[str, str]:
        extra: dict[str, str] = {"ServerSideEncryption": self.settings.sse}
        if self.settings.kms_key_id:
            extra["SSEKMSKeyId"] = self.settings.kms_key_id
        return extra

    def _fail(self, exc: Exception, doing: str, key: str) -> Exception:
        """``exc`` from botocore as the store's error (a :class:`Conflict` when it is one)."""
        code = _code(exc)
        if code in _CONFLICT:
            return Conflict(code)
        where = f"s3://{self.name}/{key}"
        if code in ("NoSuchBucket",):
            return StateError(
                f"{doing} {where}: the bucket does not exist",
                hint="create it, or fix [state.s3] bucket",
            )
        if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return StateError(
                f"{doing} {where}: access denied ({code})",
                hint="check the AWS credentials of this machine (AWS_PROFILE, the "
                "environment, the instance role) and the bucket's policy",
            )
        name = type(exc).__name__
        if name in ("NoCredentialsError", "PartialCredentialsError"):
            return StateError(
                f"{doing} {where}: no AWS credentials found",
                hint="set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
                "run where an instance role applies",
            )
        if name in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"):
            endpoint = self.settings.endpoint_url or "AWS"
            return StateError(
                f"{doing} {where}: cannot reach {endpoint} ({name})",
                hint=_REACH_HINT,
            )
        detail = code or f"{name}: {exc}"
        return StateError(
            f"{doing} {where} failed: {detail}",
            hint=_REACH_HINT,
        )

    def _call(self, doing: str, key: str, method: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(Bucket=self.name, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc, doing, key) from None

    # -- objects -------------------------------------------------------------------------

    def put(
        self,
        key: str,
        body: bytes,
        *,
        if_none_match: bool = False,
        if_match: str | None = None,
    ) -> str:
        """Write ``key`` whole; return its new ETag.

        ``if_none_match`` writes only if the key does not exist; ``if_match`` only if its
        ETag is still that one. Either failing raises :class:`Conflict`.
        """
        extra: dict[str, Any] = self._encryption()
        if if_none_match:
            extra["IfNoneMatch"] = "*"
        if if_match is not None:
            extra["IfMatch"] = if_match
        answer = self._call(
            "writing",
            key,
            "put_object",
            Key=key,
            Body=body,
            ContentType="application/json",
            **extra,
        )
        return str(answer.get("ETag", ""))

    def get(self, key: str) -> tuple[bytes, str] | None:
        """The body and ETag of ``key``, or ``None`` when there is no such object."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.client.get_object(Bucket=self.name, Key=key)
            return answer["Body"].read(), str(answer.get("ETag", ""))
        except (ClientError, BotoCoreError) as exc:
            if _code(exc) in _MISSING:
                return None
            raise self._fail(exc, "reading", key) from None

    def keys(self, prefix: str) -> Iterator[str]:
        """Every key under ``prefix`` (which should end with ``/``), in key order."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.name, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield item["Key"]
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc, "listing", prefix) from None

    def delete(self, *keys: str) -> None:
        """Remove ``keys`` (missing ones are no error)."""
        for start in range(0, len(keys), 1000):  # the API's limit per request
            batch = [{"Key": k} for k in keys[start : start + 1000]]
            answer = self._call(
                "deleting", batch[0]["Key"], "delete_objects", Delete={"Objects": batch}
            )
            # DeleteObjects answers 200 and lists the keys it could not delete.
            for error in answer.get("Errors", []):
                raise StateError(
                    f"deleting s3://{self.name}/{error.get('Key')} failed: "
                    f"{error.get('Code')} {error.get('Message', '')}".rstrip(),
                    hint="check the credentials' s3:DeleteObject permission on the prefix",
                )

    def upload(self, key: str, path: Path) -> None:
        """Upload a file (multipart when large, by boto3's transfer manager), encrypted."""
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.upload_file(str(path), self.name, key, ExtraArgs=self._encryption())
        except (ClientError, BotoCoreError, S3UploadFailedError) as exc:
            raise self._fail(exc, "uploading", key) from None

    def download(self, key: str, path: Path) -> None:
        """Download ``key`` to ``path`` (written whole to a temporary name first)."""
        from botocore.exceptions import BotoCoreError, ClientError

        partial = path.with_name(f".{path.name}.partial")
        try:
            self.client.download_file(self.name, key, str(partial))
        except (ClientError, BotoCoreError) as exc:
            partial.unlink(missing_ok=True)
            raise self._fail(exc, "downloading", key) from None
        partial.replace(path)


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""
