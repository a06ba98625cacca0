from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
EXTEND_LOCK_STATUS_EXTENDED: ExtendLockStatus
EXTEND_LOCK_STATUS_HELD_BY_OTHER: ExtendLockStatus
EXTEND_LOCK_STATUS_NOT_HELD: ExtendLockStatus
EXTEND_LOCK_STATUS_UNSPECIFIED: ExtendLockStatus
UNLOCK_STATUS_HELD_BY_OTHER: UnlockStatus
UNLOCK_STATUS_NOT_HELD: UnlockStatus
UNLOCK_STATUS_RELEASED: UnlockStatus
UNLOCK_STATUS_UNSPECIFIED: UnlockStatus

class CheckLockRequest(_message.Message):
    __slots__ = ["name", "wait_ms"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    WAIT_MS_FIELD_NUMBER: _ClassVar[int]
    name: str
    wait_ms: int
    def __init__(self, name: _Optional[str] = ..., wait_ms: _Optional[int] = ...) -> None: ...

class CheckLockResponse(_message.Message):
    __slots__ = ["available", "holder"]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    available: bool
    holder: LockHolder
    def __init__(self, available: bool = ..., holder: _Optional[_Union[LockHolder, _Mapping]] = ...) -> None: ...

class ExtendLockRequest(_message.Message):
    __slots__ = ["name", "token", "ttl_ms"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    TTL_MS_FIELD_NUMBER: _ClassVar[int]
    name: str
    token: str
    ttl_ms: int
    def __init__(self, name: _Optional[str] = ..., token: _Optional[str] = ..., ttl_ms: _Optional[int] = ...) -> None: ...

class ExtendLockResponse(_message.Message):
    __slots__ = ["expires_at", "status"]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    expires_at: _timestamp_pb2.Timestamp
    status: ExtendLockStatus
    def __init__(self, status: _Optional[_Union[ExtendLockStatus, str]] = ..., expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListLocksRequest(_message.Message):
    __slots__ = ["cursor", "limit", "pattern"]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    cursor: str
    limit: int
    pattern: str
    def __init__(self, pattern: _Optional[str] = ..., cursor: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListLocksResponse(_message.Message):
    __slots__ = ["locks", "next_cursor"]
    LOCKS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    locks: _containers.RepeatedCompositeFieldContainer[LockInfo]
    next_cursor: str
    def __init__(self, locks: _Optional[_Iterable[_Union[LockInfo, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class LockHolder(_message.Message):
    __slots__ = ["expires_at", "fencing_token", "owner"]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    FENCING_TOKEN_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    expires_at: _timestamp_pb2.Timestamp
    fencing_token: int
    owner: str
    def __init__(self, owner: _Optional[str] = ..., expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., fencing_token: _Optional[int] = ...) -> None: ...

class LockInfo(_message.Message):
    __slots__ = ["holder", "name"]
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    holder: LockHolder
    name: str
    def __init__(self, name: _Optional[str] = ..., holder: _Optional[_Union[LockHolder, _Mapping]] = ...) -> None: ...

class LockRequest(_message.Message):
    __slots__ = ["name", "owner", "ttl_ms", "wait_ms"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TTL_MS_FIELD_NUMBER: _ClassVar[int]
    WAIT_MS_FIELD_NUMBER: _ClassVar[int]
    name: str
    owner: str
    ttl_ms: int
    wait_ms: int
    def __init__(self, name: _Optional[str] = ..., ttl_ms: _Optional[int] = ..., wait_ms: _Optional[int] = ..., owner: _Optional[str] = ...) -> None: ...

class LockResponse(_message.Message):
    __slots__ = ["acquired", "expires_at", "fencing_token", "holder", "token"]
    ACQUIRED_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    FENCING_TOKEN_FIELD_NUMBER: _ClassVar[int]
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    acquired: bool
    expires_at: _timestamp_pb2.Timestamp
    fencing_token: int
    holder: LockHolder
    token: str
    def __init__(self, acquired: bool = ..., token: _Optional[str] = ..., fencing_token: _Optional[int] = ..., expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., holder: _Optional[_Union[LockHolder, _Mapping]] = ...) -> None: ...

class UnlockRequest(_message.Message):
    __slots__ = ["name", "token"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    name: str
    token: str
    def __init__(self, name: _Optional[str] = ..., token: _Optional[str] = ...) -> None: ...

class UnlockResponse(_message.Message):
    __slots__ = ["status"]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: UnlockStatus
    def __init__(self, status: _Optional[_Union[UnlockStatus, str]] = ...) -> None: ...

class UnlockStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class ExtendLockStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
