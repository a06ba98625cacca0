"""Locks of the asyncio client: the held-lock handle with its optional
renewal task, the awaitable returned by ``lock``, and the cross-process side
of ``get_or_set``."""

import asyncio
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Generator, Optional, Tuple

import grpc

from larder.v1 import lock_pb2

from . import _common as c
from ._common import LarderError, LockNotAcquired

if TYPE_CHECKING:
    from ._aio import AsyncCache


class AsyncLockHandle:
    """A held lock (see :class:`larder.LockHandle`); ``async with`` releases it."""

    def __init__(self, cache: "AsyncCache", name: str, res: lock_pb2.LockResponse, ttl_ms: int = 0,
                 auto_renew: bool = False):
        self._cache = cache
        self.name = name
        self.token = res.token
        self.fencing_token = res.fencing_token
        self.expires_at: Optional[datetime] = c.datetime_of(res.expires_at)
        self._ttl_ms = ttl_ms
        self._released = False
        self._releasing = False
        self._lost = False
        self._renewal: Optional["asyncio.Task[None]"] = (
            asyncio.ensure_future(self._renew()) if auto_renew else None)

    @property
    def lost(self) -> bool:
        """True once a renewal (or :meth:`extend`) found the lock expired or
        taken by another holder."""
        return self._lost

    async def release(self) -> bool:
        """Releases the lock and stops any renewal; True if this call freed it."""
        self._releasing = True
        if self._renewal is not None:
            self._renewal.cancel()
        if self._released:
            return False
        res = await self._cache._call("Unlock", lock_pb2.UnlockRequest(name=self.name, token=self.token), True)
        self._released = True
        return res.status == lock_pb2.UNLOCK_STATUS_RELEASED

    async def extend(self, ttl: Optional[float] = None) -> Optional[datetime]:
        """Sets the expiry to ``ttl`` seconds from now (default: the TTL the
        lock was taken with) and returns it; FAILED_PRECONDITION if no longer held."""
        ttl_ms = self._ttl_ms if ttl is None else c.seconds_to_ms("ttl", ttl)
        req = lock_pb2.ExtendLockRequest(name=self.name, token=self.token, ttl_ms=ttl_ms)
        res = await self._cache._call("ExtendLock", req, True)
        if res.status != lock_pb2.EXTEND_LOCK_STATUS_EXTENDED:
            # After release, "not held" is the expected state, not a loss.
            self._lost = self._lost or not self._releasing
            why = "another holder has it" if res.status == lock_pb2.EXTEND_LOCK_STATUS_HELD_BY_OTHER else "it expired"
            raise LarderError(grpc.StatusCode.FAILED_PRECONDITION,
                              f"extend: lock {self.name!r} is no longer held by this handle: {why}")
        self.expires_at = c.datetime_of(res.expires_at)
        return self.expires_at

    async def _renew(self) -> None:
        # Every third of the TTL, as in the sync client and the other SDKs.
        if self._ttl_ms > 0:
            period = self._ttl_ms / 3000
        else:
            left = (self.expires_at.timestamp() - time.time()) if self.expires_at else 0.0
            period = max(1.0, left) / 3
        while not self._releasing:
            await asyncio.sleep(period)
            try:
                await self.extend()
            except LarderError:
                if self._lost:
                    return

    async def __aenter__(self) -> "AsyncLockHandle":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        try:
            await self.release()
        except LarderError:
            pass


class PendingLock:
    """What ``AsyncCache.lock`` returns: await it for a handle, or use it
    directly in ``async with`` to release at the end of the block."""

    def __init__(self, acquire: Callable[[], Awaitable[AsyncLockHandle]]):
        self._acquire = acquire
        self._handle: Optional[AsyncLockHandle] = None

    def __await__(self) -> Generator[Any, None, AsyncLockHandle]:
        return self._acquire().__await__()

    async def __aenter__(self) -> AsyncLockHandle:
        self._handle = await self._acquire()
        return self._handle

    async def __aexit__(self, *exc: Any) -> None:
        if self._handle is not None:
            await self._handle.__aexit__(*exc)


async def resolve_miss(cache: "AsyncCache", key: str, compute: Callable[[], Awaitable[Any]],
                       reread: Callable[[], Awaitable[Tuple[bool, Any]]], lock_ttl: float, lock_wait: float) -> Any:
    """The asyncio twin of :func:`larder._sync_lock.resolve_miss`: one caller
    computes under the renewed compute lock, the others wait for its release
    and read the stored value."""
    name = c.compute_lock_name(key)
    deadline = time.monotonic() + lock_wait
    while True:
        try:
            guard, holder = await cache._acquire(name, ttl=lock_ttl, wait=None, owner=None, auto_renew=True)
        except LarderError as err:
            if err.code in ("PERMISSION_DENIED", "UNIMPLEMENTED"):
                return await compute()
            raise
        if guard is not None:
            async with guard:
                found, value = await reread()
                return value if found else await compute()
        left = deadline - time.monotonic()
        if left <= 0:
            raise LockNotAcquired(name, holder, f"get_or_set: waited {lock_wait} s for another caller computing "
                                                f"{key!r}; raise lock_wait if fn takes longer")
        await cache.check_lock(name, wait=min(left, c.MAX_CHECK_WAIT_S))
        found, value = await reread()
        if found:
            return value
