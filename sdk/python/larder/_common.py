"""What the sync and async clients share: value and TTL conversions, the
error type, and the retry policy. Nothing here does I/O."""

import base64
import hashlib
import json
import math
import os
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, List, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import urlsplit

import grpc

from larder.v1 import cache_pb2, lock_pb2, value_pb2

#: Keys per GetMany/Delete request: the server's default batch limit.
BATCH = 1000
#: The compute lock of get_or_set, shared with the TypeScript SDK so that
#: callers in both languages wait for each other. Its TTL is how soon another
#: caller takes over from one that died; it is renewed while ``fn`` runs.
COMPUTE_LOCK_PREFIX = "larder:compute:"
COMPUTE_LOCK_TTL_S = 5.0
#: Longer keys are hashed into the compute lock's name, which must stay
#: within the server's key size limit (as in the TypeScript SDK).
_MAX_LITERAL_LOCK_KEY_BYTES = 200
#: The longest single CheckLock wait of get_or_set, well under the server's
#: maximum wait (60 s by default).
MAX_CHECK_WAIT_S = 30.0


class LarderError(Exception):
    """Every failure of the SDK, whether the server refused the call or the
    SDK refused it before sending. A cache miss is never an error.

    Attributes:
        code: the gRPC status code name, e.g. ``"INVALID_ARGUMENT"``, as
            grpcurl, the server logs and the other SDKs spell it.
        status: the same code as a ``grpc.StatusCode``.
        message: the server's message, which names the field and the limit.
    """

    def __init__(self, status: grpc.StatusCode, message: str):
        super().__init__(f"{status.name}: {message}")
        self.status = status
        self.code = status.name
        self.message = message


@dataclass(frozen=True)
class LockHolder:
    """Who holds a lock: its owner label, expiry and fencing token."""

    owner: str
    expires_at: Optional[datetime]
    fencing_token: int


@dataclass(frozen=True)
class LockInfo:
    """One live lock, as ``list_locks`` lists it."""

    name: str
    owner: str
    expires_at: Optional[datetime]
    fencing_token: int


class LockNotAcquired(LarderError):
    """Raised by ``lock`` (and get_or_set) when the lock stayed busy for the
    whole wait. The code is ABORTED, so that it is neither retried nor taken
    for a deadline of the call itself."""

    def __init__(self, name: str, holder: Optional[LockHolder], message: Optional[str] = None):
        by = "" if holder is None else f" (held by {holder.owner!r})"
        super().__init__(grpc.StatusCode.ABORTED, message or f"lock: {name!r} was not acquired within the wait{by}")
        self.lock_name = name
        self.holder = holder


def invalid_argument(field: str, problem: str) -> LarderError:
    """A local INVALID_ARGUMENT, worded like the server's ("field: problem")."""
    return LarderError(grpc.StatusCode.INVALID_ARGUMENT, f"{field}: {problem}")


def from_rpc_error(err: grpc.RpcError) -> LarderError:
    """Converts what grpc raises into a LarderError."""
    code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
    details = err.details() if hasattr(err, "details") else str(err)
    return LarderError(code or grpc.StatusCode.UNKNOWN, details or "")


@dataclass(frozen=True)
class TLS:
    """TLS settings of a client for an ``https://`` URL. Each is PEM bytes,
    or the path (``str`` or ``os.PathLike``) of a PEM file to read.

    ``ca``: the CA certificate(s) to trust instead of the system roots (e.g.
    a private CA); default the system roots. ``cert`` and ``key``: a client
    certificate and its key, for servers that require one (mTLS); default
    none."""

    ca: Union[bytes, str, "os.PathLike[str]", None] = None
    cert: Union[bytes, str, "os.PathLike[str]", None] = None
    key: Union[bytes, str, "os.PathLike[str]", None] = None


def _pem(name: str, value: Union[bytes, str, "os.PathLike[str]", None]) -> Optional[bytes]:
    if value is None or isinstance(value, bytes):
        return value
    try:
        with open(value, "rb") as f:
            return f.read()
    except OSError as err:
        raise invalid_argument(f"tls.{name}", f"cannot read {os.fspath(value)}: {err.strerror}") from None


def channel_credentials(url: str, tls: Union[TLS, "grpc.ChannelCredentials", None]) -> Tuple[str, Optional["grpc.ChannelCredentials"]]:
    """The gRPC target of a URL and its channel credentials (None for
    cleartext): ``https://`` uses TLS with the system roots unless ``tls``
    says otherwise; ``tls`` may also be ready-made ``grpc.ChannelCredentials``."""
    target, secure = target_of(url)
    if not secure:
        if tls is not None:
            raise invalid_argument("tls", f"needs an https:// URL, got {url!r}")
        return target, None
    if isinstance(tls, grpc.ChannelCredentials):
        return target, tls
    tls = tls or TLS()
    if (tls.cert is None) != (tls.key is None):
        raise invalid_argument("tls.cert" if tls.cert is None else "tls.key",
                               f"is required with tls.{'key' if tls.cert is None else 'cert'}")
    return target, grpc.ssl_channel_credentials(root_certificates=_pem("ca", tls.ca),
                                                private_key=_pem("key", tls.key),
                                                certificate_chain=_pem("cert", tls.cert))


def target_of(url: str) -> Tuple[str, bool]:
    """The gRPC target ("host:port") of a URL, and whether it uses TLS."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid_argument("url", f"must be http://host:port or https://host:port, got {url!r}")
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{port}", tls


def metadata_of(api_key: Optional[str], namespace: Optional[str]) -> Tuple[Tuple[str, str], ...]:
    """The headers every call carries."""
    md = []
    if namespace:
        md.append(("larder-namespace", namespace))
    if api_key:
        md.append(("authorization", f"Bearer {api_key}"))
    return tuple(md)


def encode_value(field: str, value: Any) -> value_pb2.Value:
    """bytes-like values travel as opaque binary, anything else as JSON text
    that the other SDKs (and people at redis-cli) can read."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return value_pb2.Value(binary=bytes(value))
    try:
        # Compact and NaN-free: the server validates JSON, and NaN is not JSON.
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise invalid_argument(field, f"cannot be serialized as JSON: {err}") from err
    return value_pb2.Value(json=text)


def decode_value(value: value_pb2.Value) -> Any:
    """The caller's form of a stored value: bytes, or the decoded JSON."""
    kind = value.WhichOneof("kind")
    if kind == "binary":
        return bytes(value.binary)
    if kind == "json":
        try:
            return json.loads(value.json)
        except ValueError as err:
            raise LarderError(grpc.StatusCode.DATA_LOSS, f"value: stored JSON is not valid: {err}") from err
    raise LarderError(grpc.StatusCode.INTERNAL, "value: the server returned an entry without a value")


def seconds_to_ms(field: str, seconds: float) -> int:
    """A TTL in seconds as whole milliseconds. A positive TTL under half a
    millisecond must not round to 0, which the server would refuse."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or seconds <= 0:
        raise invalid_argument(field, f"must be a positive number of seconds, got {seconds!r}")
    return max(1, round(seconds * 1000))


def set_request(key: str, value: Any, ttl: Optional[float], no_expiry: bool, only_if_absent: bool,
                only_if_present: bool, if_version: Optional[int], lock: Any) -> Tuple[cache_pb2.SetRequest, bool]:
    """The SetRequest of ``set``, and whether it is safe to retry: only an
    unconditional write is, since a retried conditional one could report
    "not applied" for a write that happened."""
    req = cache_pb2.SetRequest(key=key, value=encode_value("value", value))
    if no_expiry:
        if ttl is not None:
            raise invalid_argument("ttl", "give either ttl or no_expiry, not both")
        req.no_expiry = True
    elif ttl is not None:
        req.ttl_ms = seconds_to_ms("ttl", ttl)
    if sum((only_if_absent, only_if_present, if_version is not None)) > 1:
        raise invalid_argument("mode", "give at most one of only_if_absent, only_if_present, if_version")
    if only_if_absent:
        req.mode = cache_pb2.SET_MODE_IF_ABSENT
    elif only_if_present:
        req.mode = cache_pb2.SET_MODE_IF_PRESENT
    elif if_version is not None:
        req.mode = cache_pb2.SET_MODE_IF_VERSION
        req.if_version = if_version
    if lock is not None:
        req.lock_guard.name = lock.name
        req.lock_guard.token = lock.token
    return req, req.mode == cache_pb2.SET_MODE_UNSPECIFIED and lock is None


def increment_request(key: str, delta: int, ttl: Optional[float]) -> cache_pb2.IncrementRequest:
    """The IncrementRequest of ``increment``."""
    if isinstance(delta, bool) or not isinstance(delta, int):
        raise invalid_argument("delta", f"must be an integer, got {delta!r}")
    req = cache_pb2.IncrementRequest(key=key, delta=delta)
    if ttl is not None:
        req.ttl_ms = seconds_to_ms("ttl", ttl)
    return req


def set_many_entries(entries: Any, ttl: Optional[float]) -> List[cache_pb2.SetManyEntry]:
    """The wire entries of ``set_many``: a mapping of key to value, or an
    iterable of ``(key, value)`` or ``(key, value, ttl)`` tuples, where an
    entry's own TTL wins over ``ttl``. Everything is encoded before the
    first request, so that a bad value fails the call before any write."""
    items: Iterable[Any]
    if isinstance(entries, Mapping):
        items = entries.items()
    elif isinstance(entries, (str, bytes)):
        raise invalid_argument("entries", "must be a mapping or a list of (key, value[, ttl]) tuples")
    else:
        items = entries
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
            raise invalid_argument(f"entries[{i}]", f"must be a (key, value) or (key, value, ttl) tuple, got {item!r}")
        key, value = item[0], item[1]
        entry_ttl = item[2] if len(item) == 3 and item[2] is not None else ttl
        if not isinstance(key, str):
            raise invalid_argument(f"entries[{i}].key", f"must be a string, got {type(key).__name__}")
        entry = cache_pb2.SetManyEntry(key=key, value=encode_value(f"entries[{i}].value", value))
        if entry_ttl is not None:
            entry.ttl_ms = seconds_to_ms(f"entries[{i}].ttl", entry_ttl)
        out.append(entry)
    return out


def lock_request(name: str, ttl: Optional[float], wait: Optional[float], owner: Optional[str],
                 default_owner: str) -> lock_pb2.LockRequest:
    """The LockRequest of ``lock``; 0 means the server's default TTL / no wait."""
    return lock_pb2.LockRequest(
        name=name,
        ttl_ms=0 if ttl is None else seconds_to_ms("ttl", ttl),
        wait_ms=0 if not wait else seconds_to_ms("wait", wait),
        owner=owner if owner is not None else default_owner,
    )


def check_lock_request(name: str, wait: Optional[float]) -> lock_pb2.CheckLockRequest:
    """The CheckLockRequest of ``check_lock``."""
    return lock_pb2.CheckLockRequest(name=name, wait_ms=0 if not wait else seconds_to_ms("wait", wait))


def lock_infos(pages: Iterable[Any]) -> List[LockInfo]:
    """The locks of ListLocks pages, once each: a lock renewed or re-granted
    between two pages may be listed twice."""
    out = {}
    for page in pages:
        for lock in page.locks:
            if lock.HasField("holder"):
                h = lock.holder
                out[lock.name] = LockInfo(name=lock.name, owner=h.owner, expires_at=datetime_of(h.expires_at),
                                          fencing_token=h.fencing_token)
    return list(out.values())


def compute_lock_name(key: str) -> str:
    """The lock that serializes computations of ``key`` across processes and
    SDKs; the same name the TypeScript SDK uses."""
    if len(key.encode("utf-8")) <= _MAX_LITERAL_LOCK_KEY_BYTES:
        return COMPUTE_LOCK_PREFIX + key
    digest = base64.urlsafe_b64encode(hashlib.sha256(key.encode("utf-8")).digest()).rstrip(b"=").decode()
    return f"{COMPUTE_LOCK_PREFIX}sha256:{digest}"


def page_size_of(page_size: Optional[int]) -> int:
    """The Keys page limit; 0 asks for the server's default (100)."""
    if page_size is None:
        return 0
    if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
        raise invalid_argument("page_size", f"must be a positive integer, got {page_size!r}")
    return page_size


def datetime_of(ts: Any) -> Optional[datetime]:
    """A set protobuf Timestamp as an aware datetime, else None."""
    if ts is None or (ts.seconds == 0 and ts.nanos == 0):
        return None
    return datetime.fromtimestamp(ts.seconds + ts.nanos / 1e9, tz=timezone.utc)


def holder_of(res: Any) -> Optional[LockHolder]:
    """The holder of a LockResponse that was not acquired, if any."""
    if not res.HasField("holder"):
        return None
    h = res.holder
    return LockHolder(owner=h.owner, expires_at=datetime_of(h.expires_at), fencing_token=h.fencing_token)


def batches(keys: Sequence[str]):
    """Splits keys into requests the server accepts."""
    for i in range(0, len(keys), BATCH):
        yield list(keys[i:i + BATCH])


def keys_of(key: Union[str, Iterable[str]]) -> list:
    """One key or many as a list."""
    return [key] if isinstance(key, str) else check_keys(key)


def check_keys(keys: Any) -> list:
    """A list of keys, refusing a lone string (which would iterate characters)."""
    if isinstance(keys, (str, bytes)):
        raise invalid_argument("keys", "must be a list of keys, not a single string")
    return list(keys)


def backoff(retry: int) -> float:
    """Seconds before retry number ``retry`` (1-based): exponential with equal
    jitter, so that many instances that lost the server do not return in
    lockstep."""
    nominal = min(2.0, 0.05 * 2 ** (retry - 1))
    return nominal / 2 + random.random() * nominal / 2
