"""Locks of the synchronous client: the held-lock handle with its optional
renewal thread, and the cross-process side of ``get_or_set``."""

import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Optional

import grpc

from larder.v1 import lock_pb2

from . import _common as c
from ._common import LarderError, LockNotAcquired

if TYPE_CHECKING:
    from ._sync import Cache


class LockHandle:
    """A held lock. Use it as a context manager to release it at the end of
    the block, or call :meth:`release`.

    Attributes:
        name: the lock's name.
        token: the secret owner token; pass the handle as ``lock=`` to
            ``Cache.set`` for a write that applies only while it is held.
        fencing_token: rises with every grant of the name and never repeats;
            hand it to other storage so it can refuse older holders.
        expires_at: when the grant expires unless extended; moves with
            :meth:`extend` and with auto-renewal.
    """

    def __init__(self, cache: "Cache", name: str, res: lock_pb2.LockResponse, ttl_ms: int = 0,
                 auto_renew: bool = False):
        self._cache = cache
        self.name = name
        self.token = res.token
        self.fencing_token = res.fencing_token
        self.expires_at: Optional[datetime] = c.datetime_of(res.expires_at)
        self._ttl_ms = ttl_ms
        self._released = False
        self._stop = threading.Event()
        self._lost = threading.Event()
        if auto_renew:
            threading.Thread(target=self._renew, name=f"larder-renew:{name}", daemon=True).start()

    @property
    def lost(self) -> bool:
        """True once a renewal (or :meth:`extend`) found the lock expired or
        taken by another holder: work under the lock should stop."""
        return self._lost.is_set()

    def release(self) -> bool:
        """Releases the lock and stops any renewal; True if this call freed
        it, False if it had expired, been taken over or released before."""
        self._stop.set()
        if self._released:
            return False
        # Safe to retry: a repeat after a lost answer finds NOT_HELD.
        res = self._cache._call("Unlock", lock_pb2.UnlockRequest(name=self.name, token=self.token), True)
        self._released = True
        return res.status == lock_pb2.UNLOCK_STATUS_RELEASED

    def extend(self, ttl: Optional[float] = None) -> Optional[datetime]:
        """Sets the expiry to ``ttl`` seconds from now (default: the TTL the
        lock was taken with, else the server's lock duration) and returns it;
        FAILED_PRECONDITION if no longer held."""
        ttl_ms = self._ttl_ms if ttl is None else c.seconds_to_ms("ttl", ttl)
        req = lock_pb2.ExtendLockRequest(name=self.name, token=self.token, ttl_ms=ttl_ms)
        res = self._cache._call("ExtendLock", req, True)
        if res.status != lock_pb2.EXTEND_LOCK_STATUS_EXTENDED:
            if not self._stop.is_set():
                self._lost.set()
            why = "another holder has it" if res.status == lock_pb2.EXTEND_LOCK_STATUS_HELD_BY_OTHER else "it expired"
            raise LarderError(grpc.StatusCode.FAILED_PRECONDITION,
                              f"extend: lock {self.name!r} is no longer held by this handle: {why}")
        self.expires_at = c.datetime_of(res.expires_at)
        return self.expires_at

    def _renew(self) -> None:
        # Every third of the TTL leaves two more tries before expiry if one
        # fails. Without an explicit TTL the grant's own length stands in.
        if self._ttl_ms > 0:
            period = self._ttl_ms / 3000
        else:
            left = (self.expires_at.timestamp() - time.time()) if self.expires_at else 0.0
            period = max(1.0, left) / 3
        while not self._stop.wait(period):
            try:
                self.extend()
            except LarderError:
                # A lost lock ends the renewal; a transient failure tries again.
                if self._lost.is_set():
                    return

    def __enter__(self) -> "LockHandle":
        return self

    def __exit__(self, *exc: Any) -> None:
        # Never raise here: it would mask the block's own exception, and an
        # unreachable server leaves the lock to its TTL anyway.
        try:
            self.release()
        except LarderError:
            pass


def resolve_miss(cache: "Cache", key: str, compute: Callable[[], Any], reread: Callable[[], Any],
                 lock_ttl: float, lock_wait: float) -> Any:
    """Stampede protection across processes, as in the TypeScript SDK: the
    caller that gets the key's compute lock reads again, computes only if
    still missing, and releases; its lock is renewed while it computes, so a
    slow ``fn`` is not run a second time by a waiter. The others wait for the
    lock to be free (CheckLock, woken by the release) and read the stored
    value, rather than queueing for the lock one by one. If the computer
    died, its lock expires after ``lock_ttl`` and a waiter computes.

    ``reread`` returns ``(found, value)``.
    """
    name = c.compute_lock_name(key)
    deadline = time.monotonic() + lock_wait
    while True:
        try:
            guard, holder = cache._acquire(name, ttl=lock_ttl, wait=None, owner=None, auto_renew=True)
        except LarderError as err:
            # A key without the lock permission (or a server without locks)
            # still gets its value, only without the cross-process guarantee.
            if err.code in ("PERMISSION_DENIED", "UNIMPLEMENTED"):
                return compute()
            raise
        if guard is not None:
            with guard:
                found, value = reread()
                return value if found else compute()
        left = deadline - time.monotonic()
        if left <= 0:
            raise LockNotAcquired(name, holder, f"get_or_set: waited {lock_wait} s for another caller computing "
                                                f"{key!r}; raise lock_wait if fn takes longer")
        cache.check_lock(name, wait=min(left, c.MAX_CHECK_WAIT_S))
        found, value = reread()
        if found:
            return value
