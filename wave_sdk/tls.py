"""The process's one TLS context for checking servers' certificates.

Loading a CA bundle costs about a tenth of a second — more than a whole verification round
on loopback — and each HTTP client would otherwise load its own: the health checks', every
platform API client (one per adapter operation), the upload senders'. They all share this
one, made on first use. It is exactly the context httpx makes by default
(:func:`httpx.create_ssl_context`: certifi's bundle, or ``SSL_CERT_FILE`` /
``SSL_CERT_DIR`` when set), so a server httpx would trust is trusted, and no other.
An :class:`ssl.SSLContext` may be shared between connections and threads.
"""

from __future__ import annotations

import threading

TYPE_CHECKING = False  # see wave_sdk/__init__.py
if TYPE_CHECKING:
    import ssl

_context: ssl.SSLContext | None = None
_lock = threading.Lock()


def context() -> ssl.SSLContext:
    """The shared context that verifies certificates and host names."""
    global _context
    with _lock:
        if _context is None:
            import httpx

            _context = httpx.create_ssl_context()
        return _context
