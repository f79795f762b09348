"""The digest-deploy toolkit: upload a directory by digest, the way static hosts take it.

Netlify, Vercel, Cloudflare Pages and Firebase Hosting all deploy the same way: the client
sends a manifest (path → digest), the platform answers with the digests it lacks, and only
those are uploaded. An adapter for any of them is the platform's few API calls around the
three pieces here:

* :mod:`~wave_sdk.digests.manifest` — :func:`output_directory` finds the directory a
  release ships, :func:`build_manifest` walks it
  (through :func:`wave_sdk.sources.walk`, so a link out of it, a name escaping it or a
  device is refused, naming the file, before any request) and hashes every file in
  parallel, SHA-1 or SHA-256 as the platform asks;
* :mod:`~wave_sdk.digests.transfer` — :func:`upload` sends a set of files with bounded
  concurrency, with the headers and proxies of the adapter's ``httpx.Client`` (over
  connections of its own, :mod:`~wave_sdk.digests.wire`), retrying as a well-behaved
  client must:
  429 waits for ``Retry-After`` or the rate-limit reset, 5xx and dropped connections back
  off with jitter, a 4xx that cannot succeed fails at once, all within a deadline;
* :mod:`~wave_sdk.digests.progress` — files and bytes, rate and ETA on a terminal, and
  nothing under ``--json`` or in a pipe.

docs/writing-an-adapter.md shows an adapter built on them.
"""

from __future__ import annotations

from wave_sdk.digests.manifest import FileEntry, Manifest, build_manifest, output_directory
from wave_sdk.digests.progress import ProgressLine
from wave_sdk.digests.transfer import (
    Retryable,
    RetryPolicy,
    Upload,
    UploadFailed,
    asked_wait,
    platform_message,
    retrying,
    upload,
)

__all__ = [
    "FileEntry",
    "Manifest",
    "ProgressLine",
    "RetryPolicy",
    "Retryable",
    "Upload",
    "UploadFailed",
    "asked_wait",
    "build_manifest",
    "output_directory",
    "platform_message",
    "retrying",
    "upload",
]
