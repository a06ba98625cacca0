"""The asyncio client, ``larder.AsyncCache``: the same API as ``larder.Cache``
with coroutines, over ``grpc.aio``."""

import asyncio
import os
import socket
from typing import Any, AsyncIterator, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union

import grpc
import grpc.aio

from larder.v1 import cache_pb2, cache_pb2_grpc, lock_pb2

from . import _commands as cmd
from . import _common as c
from ._aio_lock import AsyncLockHandle, PendingLock, resolve_miss
from ._common import LockHolder, LockInfo, LockNotAcquired


class AsyncCache:
    """A Larder cache for asyncio code; see :class:`larder.Cache` for the
    semantics. Create it inside the event loop that uses it."""

    def __init__(self, url: str, api_key: Optional[str] = None, namespace: Optional[str] = None,
                 timeout: float = 5.0, retries: int = 3, compute_lock_ttl: float = c.COMPUTE_LOCK_TTL_S,
                 tls: Union[c.TLS, grpc.ChannelCredentials, None] = None):
        target, creds = c.channel_credentials(url, tls)
        c.seconds_to_ms("compute_lock_ttl", compute_lock_ttl)
        self._compute_lock_ttl = compute_lock_ttl
        self._channel = (grpc.aio.secure_channel(target, creds) if creds is not None
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
        return await self.delete_many(c.keys_of(key)) > 0

    async def delete_many(self, keys: Iterable[str]) -> int:
        """Removes any number of keys (in batches of 1000); returns how many existed."""
        deleted = 0
        for batch in c.batches(c.check_keys(keys)):
            deleted += (await self._call("Delete", cache_pb2.DeleteRequest(keys=batch), True)).deleted
        return deleted

    async def extend(self, key: str, seconds: float) -> bool:
        """Adds ``seconds`` to the remaining TTL; False if the key is missing."""
        req = cache_pb2.ExtendRequest(key=key, add_ms=c.seconds_to_ms("seconds", seconds))
        return (await self._call("Extend", req, False)).found

    async def keys(self, pattern: Optional[str] = None) -> List[str]:
        """Every key matching a glob, following all pages, without duplicates."""
        return list(dict.fromkeys([k async for k in self.iter_keys(pattern, page_size=c.BATCH)]))

    async def iter_keys(self, pattern: Optional[str] = None, page_size: Optional[int] = None) -> AsyncIterator[str]:
        """Yields the keys matching a glob lazily (``async for``), one page
        of ``page_size`` keys (default the server's 100) at a time."""
        limit = c.page_size_of(page_size)
        cursor = ""
        while True:
            req = cache_pb2.KeysRequest(pattern=pattern or "", cursor=cursor, limit=limit)
            res = await self._call("Keys", req, True)
            for key in res.keys:
                yield key
            cursor = res.next_cursor
            if not cursor:
                return

    async def get_many(self, keys: Iterable[str]) -> Dict[str, Any]:
        """Reads many keys; a dict in request order, None for each miss."""
        out: Dict[str, Any] = {}
        for batch in c.batches(c.check_keys(keys)):
            for item in (await self._call("GetMany", cache_pb2.GetManyRequest(keys=batch), True)).items:
                out[item.key] = c.decode_value(item.value) if item.found else None
        return out

    async def set_many(self, entries: Union[Mapping[str, Any], Iterable[Tuple[Any, ...]]],
                       ttl: Optional[float] = None) -> None:
        """Writes many entries unconditionally (see :meth:`larder.Cache.set_many`)."""
        wire = c.set_many_entries(entries, ttl)
        for i in range(0, len(wire), c.BATCH):
            await self._call("SetMany", cache_pb2.SetManyRequest(entries=wire[i:i + c.BATCH]), True)

    async def increment(self, key: str, delta: int = 1, ttl: Optional[float] = None) -> int:
        """Atomically adds ``delta`` to an integer value; returns the new value."""
        return (await self._call("Increment", c.increment_request(key, delta, ttl), False)).value

    def lock(self, name: str, ttl: Optional[float] = None, wait: Optional[float] = None,
             owner: Optional[str] = None, auto_renew: bool = False) -> PendingLock:
        """Acquires a named lock; ``async with cache.lock(name) as lock:``
        releases it at the end of the block, ``await cache.lock(name)``
        returns the handle. ``auto_renew`` extends it every third of its TTL
        (in a task) until released. Raises :class:`LockNotAcquired` when busy."""

        async def acquire() -> AsyncLockHandle:
            handle, holder = await self._acquire(name, ttl, wait, owner, auto_renew)
            if handle is None:
                raise LockNotAcquired(name, holder)
            return handle

        return PendingLock(acquire)

    async def try_lock(self, name: str, ttl: Optional[float] = None, wait: Optional[float] = None,
                       owner: Optional[str] = None, auto_renew: bool = False) -> Optional[AsyncLockHandle]:
        """Like :meth:`lock`, but returns None instead of raising when busy."""
        return (await self._acquire(name, ttl, wait, owner, auto_renew))[0]

    async def _acquire(self, name: str, ttl: Optional[float], wait: Optional[float], owner: Optional[str],
                       auto_renew: bool) -> Tuple[Optional[AsyncLockHandle], Optional[LockHolder]]:
        req = c.lock_request(name, ttl, wait, owner, self._owner)
        res = await self._call("Lock", req, False, req.wait_ms / 1000)
        if not res.acquired:
            return None, c.holder_of(res)
        return AsyncLockHandle(self, name, res, req.ttl_ms, auto_renew), None

    async def check_lock(self, name: str, wait: Optional[float] = None) -> bool:
        """Whether a lock is free now, or becomes free within ``wait`` seconds."""
        req = c.check_lock_request(name, wait)
        return (await self._call("CheckLock", req, True, req.wait_ms / 1000)).available

    async def list_locks(self, pattern: Optional[str] = None) -> List[LockInfo]:
        """The live locks whose names match a glob, following all pages."""
        pages = []
        cursor = ""
        while True:
            req = lock_pb2.ListLocksRequest(pattern=pattern or "", cursor=cursor, limit=c.BATCH)
            pages.append(await self._call("ListLocks", req, True))
            cursor = pages[-1].next_cursor
            if not cursor:
                return c.lock_infos(pages)

    async def run_command(self, name: str, args: Optional[Mapping[str, Any]] = None,
                          headers: Optional[Mapping[str, str]] = None, body: Any = None) -> cmd.CommandResult:
        """Runs a configured command (see :meth:`larder.Cache.run_command`). Not retried."""
        req = cmd.run_command_request(name, args, headers, body)
        return cmd.command_result(await self._call("RunCommand", req, False))

    async def command_events(self, command: Optional[str] = None,
                             limit: Optional[int] = None) -> List[cmd.CommandEvent]:
        """The namespace's fallback activations and deactivations, newest first."""
        return cmd.command_events(await self._call("ListCommandEvents", cmd.events_request(command, limit), True))

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

        async def reread() -> Tuple[bool, Any]:
            again = await self._read(key)
            return again.found, (c.decode_value(again.value) if again.found else None)

        async def compute_and_store() -> Any:
            value = fn()
            if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
                value = await value
            req, _ = c.set_request(key, value, ttl, False, False, False, None, None)
            await self._call("Set", req, True)
            return c.decode_value(req.value)

        return await resolve_miss(self, key, compute_and_store, reread, self._compute_lock_ttl, lock_wait)

    async def close(self) -> None:
        """Closes the connection."""
        await self._channel.close()

    async def __aenter__(self) -> "AsyncCache":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()
