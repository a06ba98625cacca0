"""The asyncio client, ``larder.AsyncCache``: the same API as ``larder.Cache``
with coroutines, over ``grpc.aio``."""

import asyncio
import os
import socket
from datetime import datetime
from typing import Any, Awaitable, Callable, Dict, Generator, Iterable, List, Optional, Union

import grpc
import grpc.aio

from larder.v1 import cache_pb2, cache_pb2_grpc, lock_pb2

from . import _common as c
from ._common import LarderError, LockNotAcquired


class AsyncLockHandle:
    """A held lock (see :class:`larder.LockHandle`); ``async with`` releases it."""

    def __init__(self, cache: "AsyncCache", name: str, res: lock_pb2.LockResponse):
        self._cache = cache
        self.name = name
        self.token = res.token
        self.fencing_token = res.fencing_token
        self.expires_at: Optional[datetime] = c.datetime_of(res.expires_at)
        self._released = False

    async def release(self) -> bool:
        """Releases the lock; True if this call freed it."""
        if self._released:
            return False
        res = await self._cache._call("Unlock", lock_pb2.UnlockRequest(name=self.name, token=self.token), True)
        self._released = True
        return res.status == lock_pb2.UNLOCK_STATUS_RELEASED

    async def extend(self, ttl: Optional[float] = None) -> Optional[datetime]:
        """Sets the expiry to ``ttl`` seconds from now and returns it;
        FAILED_PRECONDITION if no longer held."""
        req = lock_pb2.ExtendLockRequest(name=self.name, token=self.token,
                                         ttl_ms=0 if ttl is None else c.seconds_to_ms("ttl", ttl))
        res = await self._cache._call("ExtendLock", req, True)
        if res.status != lock_pb2.EXTEND_LOCK_STATUS_EXTENDED:
            raise LarderError(grpc.StatusCode.FAILED_PRECONDITION, f"extend: lock {self.name!r} is no longer held")
        self.expires_at = c.datetime_of(res.expires_at)
        return self.expires_at

    async def __aenter__(self) -> "AsyncLockHandle":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        try:
            await self.release()
        except LarderError:
            pass


class _PendingLock:
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


class AsyncCache:
    """A Larder cache for asyncio code; see :class:`larder.Cache` for the
    semantics. Create it inside the event loop that uses it."""

    def __init__(self, url: str, api_key: Optional[str] = None, namespace: Optional[str] = None,
                 timeout: float = 5.0, retries: int = 3):
        target, tls = c.target_of(url)
        self._channel = (grpc.aio.secure_channel(target, grpc.ssl_channel_credentials()) if tls
                         else grpc.aio.insecure_channel(target))
        self._stub = cache_pb2_grpc.CacheServiceStub(self._channel)
        self._metadata = c.metadata_of(api_key, namespace)
        self._timeout = timeout
        self._retries = retries
        self._owner = f"{socket.gethostname()}:{os.getpid()}"
        self._flights: Dict[str, "asyncio.Future[Any]"] = {}

    async def _call(self, method: str, request: Any, idempotent: bool, extra: float = 0.0) -> Any:
        attempts = self._retries + 1 if idempotent else 1
        for attempt in range(1, attempts + 1):
            try:
                return await getattr(self._stub, method)(request, timeout=self._timeout + extra,
                                                         metadata=self._metadata)
            except grpc.RpcError as err:
                if err.code() != grpc.StatusCode.UNAVAILABLE or attempt == attempts:
                    raise c.from_rpc_error(err) from None
                await asyncio.sleep(c.backoff(attempt))
        raise AssertionError("unreachable")

    async def set(self, key: str, value: Any, ttl: Optional[float] = None, *, no_expiry: bool = False,
                  only_if_absent: bool = False, only_if_present: bool = False, if_version: Optional[int] = None,
                  lock: Optional[AsyncLockHandle] = None) -> bool:
        """Writes a value; returns whether it was applied."""
        req, idempotent = c.set_request(key, value, ttl, no_expiry, only_if_absent, only_if_present, if_version, lock)
        return (await self._call("Set", req, idempotent)).applied

    async def get(self, key: str, touch: Optional[float] = None) -> Any:
        """The value of ``key``, or None on a miss."""
        res = await self._read(key, touch)
        return c.decode_value(res.value) if res.found else None

    async def _read(self, key: str, touch: Optional[float] = None) -> cache_pb2.GetResponse:
        req = cache_pb2.GetRequest(key=key)
        if touch is not None:
            req.touch_ttl_ms = c.seconds_to_ms("touch", touch)
        return await self._call("Get", req, True)

    async def has(self, key: str) -> bool:
        """Whether ``key`` exists."""
        return (await self._call("Has", cache_pb2.HasRequest(key=key), True)).found

    async def delete(self, key: Union[str, Iterable[str]]) -> bool:
        """Removes a key (or a list of keys); True if it (or any) existed."""
        keys = [key] if isinstance(key, str) else c.check_keys(key)
        deleted = 0
        for batch in c.batches(keys):
            deleted += (await self._call("Delete", cache_pb2.DeleteRequest(keys=batch), True)).deleted
        return deleted > 0

    async def extend(self, key: str, seconds: float) -> bool:
        """Adds ``seconds`` to the remaining TTL; False if the key is missing."""
        req = cache_pb2.ExtendRequest(key=key, add_ms=c.seconds_to_ms("seconds", seconds))
        return (await self._call("Extend", req, False)).found

    async def keys(self, pattern: Optional[str] = None) -> List[str]:
        """Every key matching a glob, following all pages."""
        seen: Dict[str, None] = {}
        cursor = ""
        while True:
            req = cache_pb2.KeysRequest(pattern=pattern or "", cursor=cursor, limit=1000)
            res = await self._call("Keys", req, True)
            seen.update(dict.fromkeys(res.keys))
            cursor = res.next_cursor
            if not cursor:
                return list(seen)

    async def get_many(self, keys: Iterable[str]) -> Dict[str, Any]:
        """Reads many keys; a dict in request order, None for each miss."""
        out: Dict[str, Any] = {}
        for batch in c.batches(c.check_keys(keys)):
            for item in (await self._call("GetMany", cache_pb2.GetManyRequest(keys=batch), True)).items:
                out[item.key] = c.decode_value(item.value) if item.found else None
        return out

    async def increment(self, key: str, delta: int = 1, ttl: Optional[float] = None) -> int:
        """Atomically adds ``delta`` to an integer value; returns the new value."""
        return (await self._call("Increment", c.increment_request(key, delta, ttl), False)).value

    def lock(self, name: str, ttl: Optional[float] = None, wait: Optional[float] = None,
             owner: Optional[str] = None) -> _PendingLock:
        """Acquires a named lock; ``async with cache.lock(name) as lock:``
        releases it at the end of the block, ``await cache.lock(name)``
        returns the handle. Raises :class:`LockNotAcquired` when busy."""

        async def acquire() -> AsyncLockHandle:
            req = c.lock_request(name, ttl, wait, owner, self._owner)
            res = await self._call("Lock", req, False, req.wait_ms / 1000)
            if not res.acquired:
                raise LockNotAcquired(name, c.holder_of(res))
            return AsyncLockHandle(self, name, res)

        return _PendingLock(acquire)

    async def get_or_set(self, key: str, fn: Callable[[], Any], ttl: Optional[float] = None,
                         lock_wait: float = 10.0) -> Any:
        """Like :meth:`larder.Cache.get_or_set`; ``fn`` may be a coroutine
        function."""
        flight = self._flights.get(key)
        if flight is not None:
            # shield: one joiner's cancellation must not cancel the others.
            return await asyncio.shield(flight)
        flight = asyncio.ensure_future(self._compute(key, fn, ttl, lock_wait))
        self._flights[key] = flight
        flight.add_done_callback(lambda _: self._flights.pop(key, None))
        return await asyncio.shield(flight)

    async def _compute(self, key: str, fn: Callable[[], Any], ttl: Optional[float], lock_wait: float) -> Any:
        res = await self._read(key)
        if res.found:
            return c.decode_value(res.value)
        guard: Optional[AsyncLockHandle]
        try:
            guard = await self.lock(c.COMPUTE_LOCK_PREFIX + key, ttl=c.COMPUTE_LOCK_TTL_S, wait=lock_wait)
        except LarderError as err:
            if err.code != "PERMISSION_DENIED":
                raise
            guard = None
        try:
            if guard is not None:
                res = await self._read(key)
                if res.found:
                    return c.decode_value(res.value)
            value = fn()
            if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
                value = await value
            req, _ = c.set_request(key, value, ttl, False, False, False, None, None)
            await self._call("Set", req, True)
            return c.decode_value(req.value)
        finally:
            if guard is not None:
                await guard.__aexit__(None, None, None)

    async def close(self) -> None:
        """Closes the connection."""
        await self._channel.close()

    async def __aenter__(self) -> "AsyncCache":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()
