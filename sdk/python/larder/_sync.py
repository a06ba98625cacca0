"""The synchronous client, ``larder.Cache``."""

import os
import socket
import threading
import time
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple, Union

import grpc

from larder.v1 import cache_pb2, cache_pb2_grpc, lock_pb2

from . import _commands as cmd
from . import _common as c
from ._common import LockHolder, LockInfo, LockNotAcquired
from ._sync_lock import LockHandle, resolve_miss


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

    An ``https://`` URL uses TLS with the system roots; ``tls`` (a
    :class:`larder.TLS` or ``grpc.ChannelCredentials``) sets a private CA and
    a client certificate.
    """

    def __init__(self, url: str, api_key: Optional[str] = None, namespace: Optional[str] = None,
                 timeout: float = 5.0, retries: int = 3, compute_lock_ttl: float = c.COMPUTE_LOCK_TTL_S,
                 tls: Union[c.TLS, grpc.ChannelCredentials, None] = None):
        target, creds = c.channel_credentials(url, tls)
        c.seconds_to_ms("compute_lock_ttl", compute_lock_ttl)
        self._channel = (grpc.secure_channel(target, creds) if creds is not None
                         else grpc.insecure_channel(target))
        self._stub = cache_pb2_grpc.CacheServiceStub(self._channel)
        self._metadata = c.metadata_of(api_key, namespace)
        self._timeout = timeout
        self._retries = retries
        self._compute_lock_ttl = compute_lock_ttl
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
        return self.delete_many(c.keys_of(key)) > 0

    def delete_many(self, keys: Iterable[str]) -> int:
        """Removes any number of keys (sent in batches of 1000); returns how
        many existed. Retried on UNAVAILABLE: deleting twice leaves the same
        state, only the count can then be lower."""
        deleted = 0
        for batch in c.batches(c.check_keys(keys)):
            deleted += self._call("Delete", cache_pb2.DeleteRequest(keys=batch), True).deleted
        return deleted

    def extend(self, key: str, seconds: float) -> bool:
        """Adds ``seconds`` to the remaining TTL; False if the key is missing.
        Not retried: a repeat would add the time twice."""
        req = cache_pb2.ExtendRequest(key=key, add_ms=c.seconds_to_ms("seconds", seconds))
        return self._call("Extend", req, False).found

    def keys(self, pattern: Optional[str] = None) -> List[str]:
        """Every key matching a glob (``*``, ``?``, ``[a-z]``, ``\\`` escapes),
        following all pages, without duplicates, in no particular order.
        For large namespaces prefer :meth:`iter_keys`."""
        # dict.fromkeys: the listing promises "at least once", not "once".
        return list(dict.fromkeys(self.iter_keys(pattern, page_size=c.BATCH)))

    def iter_keys(self, pattern: Optional[str] = None, page_size: Optional[int] = None) -> Iterator[str]:
        """Yields the keys matching a glob lazily, fetching the next page
        (``page_size`` keys, default the server's 100) only when the previous
        one is consumed. A key written during the listing may be yielded
        twice; one present throughout is yielded at least once."""
        limit = c.page_size_of(page_size)
        cursor = ""
        while True:
            res = self._call("Keys", cache_pb2.KeysRequest(pattern=pattern or "", cursor=cursor, limit=limit), True)
            yield from res.keys
            cursor = res.next_cursor
            if not cursor:
                return

    def get_many(self, keys: Iterable[str]) -> Dict[str, Any]:
        """Reads many keys; a dict in request order, None for each miss."""
        out: Dict[str, Any] = {}
        for batch in c.batches(c.check_keys(keys)):
            for item in self._call("GetMany", cache_pb2.GetManyRequest(keys=batch), True).items:
                out[item.key] = c.decode_value(item.value) if item.found else None
        return out

    def set_many(self, entries: Union[Mapping[str, Any], Iterable[Tuple[Any, ...]]],
                 ttl: Optional[float] = None) -> None:
        """Writes many entries unconditionally: a mapping of key to value, or
        ``(key, value)`` / ``(key, value, ttl)`` tuples whose own TTL wins
        over ``ttl``. Any number, sent in batches of 1000, so a failure may
        leave earlier batches written. Retried on UNAVAILABLE, since every
        entry is unconditional and writing it twice leaves the same state."""
        wire = c.set_many_entries(entries, ttl)
        for i in range(0, len(wire), c.BATCH):
            self._call("SetMany", cache_pb2.SetManyRequest(entries=wire[i:i + c.BATCH]), True)

    def increment(self, key: str, delta: int = 1, ttl: Optional[float] = None) -> int:
        """Atomically adds ``delta`` to an integer value, creating it with
        ``ttl`` if absent; returns the new value. Not retried: a repeat would
        count twice."""
        return self._call("Increment", c.increment_request(key, delta, ttl), False).value

    def lock(self, name: str, ttl: Optional[float] = None, wait: Optional[float] = None,
             owner: Optional[str] = None, auto_renew: bool = False) -> LockHandle:
        """Acquires a named lock, waiting up to ``wait`` seconds, for ``ttl``
        seconds (default: the server's lock duration, 30 s). Use it in a
        ``with`` block to release it at the end::

            with cache.lock("nightly-report", ttl=60, wait=5) as lock:
                cache.set("report", data, lock=lock)

        ``auto_renew`` extends the lock every third of its TTL (in a daemon
        thread) until it is released; ``lock.lost`` turns True if a renewal
        finds it lost. Raises :class:`LockNotAcquired` (code ABORTED) when
        still busy after the wait. Not retried: a grant whose answer was lost
        would stay held.
        """
        handle, holder = self._acquire(name, ttl, wait, owner, auto_renew)
        if handle is None:
            raise LockNotAcquired(name, holder)
        return handle

    def try_lock(self, name: str, ttl: Optional[float] = None, wait: Optional[float] = None,
                 owner: Optional[str] = None, auto_renew: bool = False) -> Optional[LockHandle]:
        """Like :meth:`lock`, but returns None instead of raising when the
        lock stays busy (``wait`` defaults to 0: try once)."""
        return self._acquire(name, ttl, wait, owner, auto_renew)[0]

    def _acquire(self, name: str, ttl: Optional[float], wait: Optional[float], owner: Optional[str],
                 auto_renew: bool) -> Tuple[Optional[LockHandle], Optional[LockHolder]]:
        req = c.lock_request(name, ttl, wait, owner, self._owner)
        res = self._call("Lock", req, False, req.wait_ms / 1000)
        if not res.acquired:
            return None, c.holder_of(res)
        return LockHandle(self, name, res, req.ttl_ms, auto_renew), None

    def check_lock(self, name: str, wait: Optional[float] = None) -> bool:
        """Whether a lock is free now, or becomes free within ``wait``
        seconds (answered as soon as it frees). Takes nothing."""
        req = c.check_lock_request(name, wait)
        return self._call("CheckLock", req, True, req.wait_ms / 1000).available

    def list_locks(self, pattern: Optional[str] = None) -> List[LockInfo]:
        """The live locks whose names match a glob, with owner and expiry,
        following all pages."""
        return c.lock_infos(self._lock_pages(pattern or ""))

    def _lock_pages(self, pattern: str) -> Iterator[Any]:
        cursor = ""
        while True:
            req = lock_pb2.ListLocksRequest(pattern=pattern, cursor=cursor, limit=c.BATCH)
            page = self._call("ListLocks", req, True)
            yield page
            cursor = page.next_cursor
            if not cursor:
                return

    def run_command(self, name: str, args: Optional[Mapping[str, Any]] = None,
                    headers: Optional[Mapping[str, str]] = None, body: Any = None) -> cmd.CommandResult:
        """Runs a command defined in the server's configuration, with its
        response caching and cache fallback. ``body`` is sent as text (str),
        binary (bytes) or JSON (anything else). Not retried: a command may
        not be safe to repeat.

        Raises LarderError NOT_FOUND for an undefined command, UNAVAILABLE or
        DEADLINE_EXCEEDED when the upstream fails with nothing cached. An
        upstream 4xx/5xx with nothing cached is returned, not raised.
        """
        return cmd.command_result(self._call("RunCommand", cmd.run_command_request(name, args, headers, body), False))

    def command_events(self, command: Optional[str] = None, limit: Optional[int] = None) -> List[cmd.CommandEvent]:
        """The namespace's fallback activations and deactivations of the last
        24 h, newest first; only ``command``'s when given."""
        return cmd.command_events(self._call("ListCommandEvents", cmd.events_request(command, limit), True))

    def get_or_set(self, key: str, fn: Callable[[], Any], ttl: Optional[float] = None,
                   lock_wait: float = 10.0) -> Any:
        """The value of ``key``; on a miss, ``fn()`` computes it, it is stored
        with ``ttl`` and returned as a later read would return it.

        Concurrent callers in this process share one read and one ``fn``
        call. Across processes (and with the other SDKs), the lock
        ``larder:compute:<key>`` lets one caller compute while the others wait
        up to ``lock_wait`` seconds and read its result. The lock lasts
        ``compute_lock_ttl`` (5 s) and is renewed while ``fn`` runs.
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

        def reread() -> Tuple[bool, Any]:
            again = self._read(key)
            return again.found, (c.decode_value(again.value) if again.found else None)

        def compute_and_store() -> Any:
            req, _ = c.set_request(key, fn(), ttl, False, False, False, None, None)
            self._call("Set", req, True)
            # What a later hit returns, so that hit and miss paths return alike.
            return c.decode_value(req.value)

        return resolve_miss(self, key, compute_and_store, reread, self._compute_lock_ttl, lock_wait)

    def close(self) -> None:
        """Closes the connection; later calls fail."""
        self._channel.close()

    def __enter__(self) -> "Cache":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
