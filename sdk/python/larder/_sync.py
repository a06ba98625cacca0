"""The synchronous client, ``larder.Cache``."""

import os
import socket
import threading
import time
from datetime import datetime
from typing import Any, Callable, Dict, Iterable, List, Optional, Union

import grpc

from larder.v1 import cache_pb2, cache_pb2_grpc, lock_pb2

from . import _common as c
from ._common import LarderError, LockNotAcquired


class LockHandle:
    """A held lock. Use it as a context manager to release it at the end of
    the block, or call :meth:`release`.

    Attributes:
        name: the lock's name.
        token: the secret owner token; pass the handle as ``lock=`` to
            ``Cache.set`` for a write that applies only while it is held.
        fencing_token: rises with every grant of the name and never repeats;
            hand it to other storage so it can refuse older holders.
        expires_at: when the grant expires unless extended.
    """

    def __init__(self, cache: "Cache", name: str, res: lock_pb2.LockResponse):
        self._cache = cache
        self.name = name
        self.token = res.token
        self.fencing_token = res.fencing_token
        self.expires_at: Optional[datetime] = c.datetime_of(res.expires_at)
        self._released = False

    def release(self) -> bool:
        """Releases the lock; True if this call freed it, False if it had
        expired, been taken over or released before."""
        if self._released:
            return False
        # Safe to retry: a repeat after a lost answer finds NOT_HELD.
        res = self._cache._call("Unlock", lock_pb2.UnlockRequest(name=self.name, token=self.token), True)
        self._released = True
        return res.status == lock_pb2.UNLOCK_STATUS_RELEASED

    def extend(self, ttl: Optional[float] = None) -> Optional[datetime]:
        """Sets the expiry to ``ttl`` seconds from now (default: the server's
        lock duration) and returns it; FAILED_PRECONDITION if no longer held."""
        req = lock_pb2.ExtendLockRequest(name=self.name, token=self.token,
                                         ttl_ms=0 if ttl is None else c.seconds_to_ms("ttl", ttl))
        res = self._cache._call("ExtendLock", req, True)
        if res.status != lock_pb2.EXTEND_LOCK_STATUS_EXTENDED:
            raise LarderError(grpc.StatusCode.FAILED_PRECONDITION, f"extend: lock {self.name!r} is no longer held")
        self.expires_at = c.datetime_of(res.expires_at)
        return self.expires_at

    def __enter__(self) -> "LockHandle":
        return self

    def __exit__(self, *exc: Any) -> None:
        # Never raise here: it would mask the block's own exception, and an
        # unreachable server leaves the lock to its TTL anyway.
        try:
            self.release()
        except LarderError:
            pass


class _Flight:
    """One in-process get_or_set computation that later callers join."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: Optional[BaseException] = None


class Cache:
    """A Larder cache bound to one server and one namespace, over gRPC.

    Thread-safe; create one and share it. TTLs are seconds. Values are
    JSON-serialized with ``json``; ``bytes`` are stored as opaque binary and
    read back as ``bytes``. Misses read as ``None``. Failures raise
    :class:`LarderError`. Every call has a deadline of ``timeout`` seconds,
    and only calls that are safe to repeat are retried on UNAVAILABLE.
    """

    def __init__(self, url: str, api_key: Optional[str] = None, namespace: Optional[str] = None,
                 timeout: float = 5.0, retries: int = 3):
        target, tls = c.target_of(url)
        self._channel = (grpc.secure_channel(target, grpc.ssl_channel_credentials()) if tls
                         else grpc.insecure_channel(target))
        self._stub = cache_pb2_grpc.CacheServiceStub(self._channel)
        self._metadata = c.metadata_of(api_key, namespace)
        self._timeout = timeout
        self._retries = retries
        self._owner = f"{socket.gethostname()}:{os.getpid()}"
        self._flights: Dict[str, _Flight] = {}
        self._flights_lock = threading.Lock()

    def _call(self, method: str, request: Any, idempotent: bool, extra: float = 0.0) -> Any:
        attempts = self._retries + 1 if idempotent else 1
        for attempt in range(1, attempts + 1):
            try:
                return getattr(self._stub, method)(request, timeout=self._timeout + extra, metadata=self._metadata)
            except grpc.RpcError as err:
                if err.code() != grpc.StatusCode.UNAVAILABLE or attempt == attempts:
                    raise c.from_rpc_error(err) from None
                time.sleep(c.backoff(attempt))
        raise AssertionError("unreachable")

    def set(self, key: str, value: Any, ttl: Optional[float] = None, *, no_expiry: bool = False,
            only_if_absent: bool = False, only_if_present: bool = False, if_version: Optional[int] = None,
            lock: Optional[LockHandle] = None) -> bool:
        """Writes a value; returns whether it was applied (always True without
        a condition). ``ttl`` defaults to the namespace default (3600 s).
        ``lock`` makes the write apply only while that lock is held (fencing)."""
        req, idempotent = c.set_request(key, value, ttl, no_expiry, only_if_absent, only_if_present, if_version, lock)
        return self._call("Set", req, idempotent).applied

    def get(self, key: str, touch: Optional[float] = None) -> Any:
        """The value of ``key``, or None on a miss. ``touch`` resets the TTL to
        that many seconds on a hit (sliding expiry)."""
        res = self._read(key, touch)
        return c.decode_value(res.value) if res.found else None

    def _read(self, key: str, touch: Optional[float] = None) -> cache_pb2.GetResponse:
        req = cache_pb2.GetRequest(key=key)
        if touch is not None:
            req.touch_ttl_ms = c.seconds_to_ms("touch", touch)
        return self._call("Get", req, True)

    def has(self, key: str) -> bool:
        """Whether ``key`` exists, without transferring its value."""
        return self._call("Has", cache_pb2.HasRequest(key=key), True).found

    def delete(self, key: Union[str, Iterable[str]]) -> bool:
        """Removes a key (or a list of keys); True if it (or any) existed."""
        keys = [key] if isinstance(key, str) else c.check_keys(key)
        if not keys:
            return False
        deleted = 0
        for batch in c.batches(keys):
            deleted += self._call("Delete", cache_pb2.DeleteRequest(keys=batch), True).deleted
        return deleted > 0

    def extend(self, key: str, seconds: float) -> bool:
        """Adds ``seconds`` to the remaining TTL; False if the key is missing.
        Not retried: a repeat would add the time twice."""
        req = cache_pb2.ExtendRequest(key=key, add_ms=c.seconds_to_ms("seconds", seconds))
        return self._call("Extend", req, False).found

    def keys(self, pattern: Optional[str] = None) -> List[str]:
        """Every key matching a glob (``*``, ``?``, ``[a-z]``, ``\\`` escapes),
        following all pages, without duplicates, in no particular order."""
        seen: Dict[str, None] = {}
        cursor = ""
        while True:
            res = self._call("Keys", cache_pb2.KeysRequest(pattern=pattern or "", cursor=cursor, limit=1000), True)
            seen.update(dict.fromkeys(res.keys))
            cursor = res.next_cursor
            if not cursor:
                return list(seen)

    def get_many(self, keys: Iterable[str]) -> Dict[str, Any]:
        """Reads many keys; a dict in request order, None for each miss."""
        out: Dict[str, Any] = {}
        for batch in c.batches(c.check_keys(keys)):
            for item in self._call("GetMany", cache_pb2.GetManyRequest(keys=batch), True).items:
                out[item.key] = c.decode_value(item.value) if item.found else None
        return out

    def increment(self, key: str, delta: int = 1, ttl: Optional[float] = None) -> int:
        """Atomically adds ``delta`` to an integer value, creating it with
        ``ttl`` if absent; returns the new value. Not retried: a repeat would
        count twice."""
        return self._call("Increment", c.increment_request(key, delta, ttl), False).value

    def lock(self, name: str, ttl: Optional[float] = None, wait: Optional[float] = None,
             owner: Optional[str] = None) -> LockHandle:
        """Acquires a named lock, waiting up to ``wait`` seconds, for ``ttl``
        seconds (default: the server's lock duration, 30 s). Use it in a
        ``with`` block to release it at the end::

            with cache.lock("nightly-report", ttl=60, wait=5) as lock:
                cache.set("report", data, lock=lock)

        Raises :class:`LockNotAcquired` (code ABORTED) when still busy after
        the wait. Not retried: a grant whose answer was lost would stay held.
        """
        req = c.lock_request(name, ttl, wait, owner, self._owner)
        res = self._call("Lock", req, False, req.wait_ms / 1000)
        if not res.acquired:
            raise LockNotAcquired(name, c.holder_of(res))
        return LockHandle(self, name, res)

    def get_or_set(self, key: str, fn: Callable[[], Any], ttl: Optional[float] = None,
                   lock_wait: float = 10.0) -> Any:
        """The value of ``key``; on a miss, ``fn()`` computes it, it is stored
        with ``ttl`` and returned as a later read would return it.

        Concurrent callers in this process share one read and one ``fn``
        call. Across processes (and with the other SDKs), the lock
        ``larder:compute:<key>`` lets one caller compute while the others wait
        up to ``lock_wait`` seconds and read its result.
        """
        with self._flights_lock:
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.value
        try:
            flight.value = self._compute(key, fn, ttl, lock_wait)
            return flight.value
        except BaseException as err:
            flight.error = err
            raise
        finally:
            with self._flights_lock:
                del self._flights[key]
            flight.done.set()

    def _compute(self, key: str, fn: Callable[[], Any], ttl: Optional[float], lock_wait: float) -> Any:
        res = self._read(key)
        if res.found:
            return c.decode_value(res.value)
        try:
            guard: Optional[LockHandle] = self.lock(c.COMPUTE_LOCK_PREFIX + key, ttl=c.COMPUTE_LOCK_TTL_S, wait=lock_wait)
        except LarderError as err:
            # A key without the lock permission still gets its value, only
            # without the cross-process guarantee.
            if err.code != "PERMISSION_DENIED":
                raise
            guard = None
        try:
            if guard is not None:
                res = self._read(key)
                if res.found:
                    return c.decode_value(res.value)
            value = fn()
            req, _ = c.set_request(key, value, ttl, False, False, False, None, None)
            self._call("Set", req, True)
            return c.decode_value(req.value)
        finally:
            if guard is not None:
                guard.__exit__(None, None, None)

    def close(self) -> None:
        """Closes the connection; later calls fail."""
        self._channel.close()

    def __enter__(self) -> "Cache":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
