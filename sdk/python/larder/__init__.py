"""Larder's Python SDK: a shared key-value cache for function runtimes.

``larder.Cache`` is the synchronous client, ``larder.AsyncCache`` the asyncio
one; both speak gRPC to a Larder server::

    import larder

    with larder.Cache(url="http://127.0.0.1:8080", namespace="my-function") as cache:
        cache.set("user:123", {"name": "Alice", "plan": "pro"}, ttl=3600)
        profile = cache.get("user:123")
"""

import os as _os

# The code that buf generates into gen/ imports its siblings as `larder.v1.*`
# (the proto package), which would collide with this package's own name.
# Adding gen/larder to this package's search path makes `larder.v1` resolve
# to the generated modules without touching sys.path or the generated code.
__path__.append(_os.path.join(_os.path.dirname(__file__), "gen", "larder"))  # noqa: F821

from ._common import TLS, LarderError, LockHolder, LockInfo, LockNotAcquired  # noqa: E402
from ._commands import CommandEvent, CommandResult  # noqa: E402
from ._sync import Cache  # noqa: E402
from ._sync_lock import LockHandle  # noqa: E402
from ._aio import AsyncCache  # noqa: E402
from ._aio_lock import AsyncLockHandle  # noqa: E402

__all__ = [
    "AsyncCache",
    "AsyncLockHandle",
    "Cache",
    "CommandEvent",
    "CommandResult",
    "LarderError",
    "LockHandle",
    "LockHolder",
    "LockInfo",
    "LockNotAcquired",
    "TLS",
]
