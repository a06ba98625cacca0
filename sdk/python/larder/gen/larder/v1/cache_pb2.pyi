from google.protobuf import timestamp_pb2 as _timestamp_pb2
from larder.v1 import command_pb2 as _command_pb2
from larder.v1 import lock_pb2 as _lock_pb2
from larder.v1 import value_pb2 as _value_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
SET_MODE_ALWAYS: SetMode
SET_MODE_IF_ABSENT: SetMode
SET_MODE_IF_PRESENT: SetMode
SET_MODE_IF_VERSION: SetMode
SET_MODE_UNSPECIFIED: SetMode

class DeleteRequest(_message.Message):
    __slots__ = ["keys"]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, keys: _Optional[_Iterable[str]] = ...) -> None: ...

class DeleteResponse(_message.Message):
    __slots__ = ["deleted"]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: int
    def __init__(self, deleted: _Optional[int] = ...) -> None: ...

class ExtendRequest(_message.Message):
    __slots__ = ["add_ms", "key"]
    ADD_MS_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    add_ms: int
    key: str
    def __init__(self, key: _Optional[str] = ..., add_ms: _Optional[int] = ...) -> None: ...

class ExtendResponse(_message.Message):
    __slots__ = ["expires_at", "found"]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    FOUND_FIELD_NUMBER: _ClassVar[int]
    expires_at: _timestamp_pb2.Timestamp
    found: bool
    def __init__(self, found: bool = ..., expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetManyItem(_message.Message):
    __slots__ = ["found", "key", "metadata", "value"]
    FOUND_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    found: bool
    key: str
    metadata: _value_pb2.EntryMetadata
    value: _value_pb2.Value
    def __init__(self, key: _Optional[str] = ..., found: bool = ..., value: _Optional[_Union[_value_pb2.Value, _Mapping]] = ..., metadata: _Optional[_Union[_value_pb2.EntryMetadata, _Mapping]] = ...) -> None: ...

class GetManyRequest(_message.Message):
    __slots__ = ["keys"]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, keys: _Optional[_Iterable[str]] = ...) -> None: ...

class GetManyResponse(_message.Message):
    __slots__ = ["items"]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[GetManyItem]
    def __init__(self, items: _Optional[_Iterable[_Union[GetManyItem, _Mapping]]] = ...) -> None: ...

class GetRequest(_message.Message):
    __slots__ = ["key", "touch_ttl_ms"]
    KEY_FIELD_NUMBER: _ClassVar[int]
    TOUCH_TTL_MS_FIELD_NUMBER: _ClassVar[int]
    key: str
    touch_ttl_ms: int
    def __init__(self, key: _Optional[str] = ..., touch_ttl_ms: _Optional[int] = ...) -> None: ...

class GetResponse(_message.Message):
    __slots__ = ["found", "metadata", "value"]
    FOUND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    found: bool
    metadata: _value_pb2.EntryMetadata
    value: _value_pb2.Value
    def __init__(self, found: bool = ..., value: _Optional[_Union[_value_pb2.Value, _Mapping]] = ..., metadata: _Optional[_Union[_value_pb2.EntryMetadata, _Mapping]] = ...) -> None: ...

class HasRequest(_message.Message):
    __slots__ = ["key"]
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class HasResponse(_message.Message):
    __slots__ = ["expires_at", "found"]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    FOUND_FIELD_NUMBER: _ClassVar[int]
    expires_at: _timestamp_pb2.Timestamp
    found: bool
    def __init__(self, found: bool = ..., expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class IncrementRequest(_message.Message):
    __slots__ = ["delta", "key", "no_expiry", "ttl_ms"]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    NO_EXPIRY_FIELD_NUMBER: _ClassVar[int]
    TTL_MS_FIELD_NUMBER: _ClassVar[int]
    delta: int
    key: str
    no_expiry: bool
    ttl_ms: int
    def __init__(self, key: _Optional[str] = ..., delta: _Optional[int] = ..., ttl_ms: _Optional[int] = ..., no_expiry: bool = ...) -> None: ...

class IncrementResponse(_message.Message):
    __slots__ = ["created", "expires_at", "value", "version"]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    created: bool
    expires_at: _timestamp_pb2.Timestamp
    value: int
    version: int
    def __init__(self, value: _Optional[int] = ..., created: bool = ..., version: _Optional[int] = ..., expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class KeysRequest(_message.Message):
    __slots__ = ["cursor", "limit", "pattern"]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    cursor: str
    limit: int
    pattern: str
    def __init__(self, pattern: _Optional[str] = ..., cursor: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class KeysResponse(_message.Message):
    __slots__ = ["keys", "next_cursor"]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedScalarFieldContainer[str]
    next_cursor: str
    def __init__(self, keys: _Optional[_Iterable[str]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class LockGuard(_message.Message):
    __slots__ = ["min_fencing_token", "name", "token"]
    MIN_FENCING_TOKEN_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    min_fencing_token: int
    name: str
    token: str
    def __init__(self, name: _Optional[str] = ..., token: _Optional[str] = ..., min_fencing_token: _Optional[int] = ...) -> None: ...

class SetManyEntry(_message.Message):
    __slots__ = ["key", "no_expiry", "ttl_ms", "value"]
    KEY_FIELD_NUMBER: _ClassVar[int]
    NO_EXPIRY_FIELD_NUMBER: _ClassVar[int]
    TTL_MS_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    no_expiry: bool
    ttl_ms: int
    value: _value_pb2.Value
    def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_value_pb2.Value, _Mapping]] = ..., ttl_ms: _Optional[int] = ..., no_expiry: bool = ...) -> None: ...

class SetManyRequest(_message.Message):
    __slots__ = ["entries"]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[SetManyEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[SetManyEntry, _Mapping]]] = ...) -> None: ...

class SetManyResponse(_message.Message):
    __slots__ = ["results"]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SetManyResult]
    def __init__(self, results: _Optional[_Iterable[_Union[SetManyResult, _Mapping]]] = ...) -> None: ...

class SetManyResult(_message.Message):
    __slots__ = ["created", "key", "version"]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    created: bool
    key: str
    version: int
    def __init__(self, key: _Optional[str] = ..., created: bool = ..., version: _Optional[int] = ...) -> None: ...

class SetRequest(_message.Message):
    __slots__ = ["if_version", "key", "lock_guard", "mode", "no_expiry", "ttl_ms", "value"]
    IF_VERSION_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    LOCK_GUARD_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    NO_EXPIRY_FIELD_NUMBER: _ClassVar[int]
    TTL_MS_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    if_version: int
    key: str
    lock_guard: LockGuard
    mode: SetMode
    no_expiry: bool
    ttl_ms: int
    value: _value_pb2.Value
    def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_value_pb2.Value, _Mapping]] = ..., ttl_ms: _Optional[int] = ..., no_expiry: bool = ..., mode: _Optional[_Union[SetMode, str]] = ..., if_version: _Optional[int] = ..., lock_guard: _Optional[_Union[LockGuard, _Mapping]] = ...) -> None: ...

class SetResponse(_message.Message):
    __slots__ = ["applied", "created", "expires_at", "version"]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    applied: bool
    created: bool
    expires_at: _timestamp_pb2.Timestamp
    version: int
    def __init__(self, applied: bool = ..., created: bool = ..., version: _Optional[int] = ..., expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SetMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
