from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CommandHeaderInfo(_message.Message):
    __slots__ = ["name", "secret", "value"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    secret: bool
    value: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ..., secret: bool = ...) -> None: ...

class CommandIdentityState(_message.Message):
    __slots__ = ["fallback", "id", "last_upstream_status", "response_age_ms", "updated_at"]
    FALLBACK_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LAST_UPSTREAM_STATUS_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_AGE_MS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    fallback: bool
    id: str
    last_upstream_status: int
    response_age_ms: int
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., fallback: bool = ..., last_upstream_status: _Optional[int] = ..., response_age_ms: _Optional[int] = ..., updated_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CommandState(_message.Message):
    __slots__ = ["args", "cache_seconds", "headers", "identities", "method", "name", "pass_headers", "timeout_ms", "url"]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    CACHE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    IDENTITIES_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PASS_HEADERS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    args: _containers.RepeatedScalarFieldContainer[str]
    cache_seconds: int
    headers: _containers.RepeatedCompositeFieldContainer[CommandHeaderInfo]
    identities: _containers.RepeatedCompositeFieldContainer[CommandIdentityState]
    method: str
    name: str
    pass_headers: _containers.RepeatedScalarFieldContainer[str]
    timeout_ms: int
    url: str
    def __init__(self, name: _Optional[str] = ..., method: _Optional[str] = ..., url: _Optional[str] = ..., args: _Optional[_Iterable[str]] = ..., headers: _Optional[_Iterable[_Union[CommandHeaderInfo, _Mapping]]] = ..., pass_headers: _Optional[_Iterable[str]] = ..., cache_seconds: _Optional[int] = ..., timeout_ms: _Optional[int] = ..., identities: _Optional[_Iterable[_Union[CommandIdentityState, _Mapping]]] = ...) -> None: ...

class GetStatsRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class GetStatsResponse(_message.Message):
    __slots__ = ["samples", "serving", "started_at", "store_kind"]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    SERVING_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    STORE_KIND_FIELD_NUMBER: _ClassVar[int]
    samples: _containers.RepeatedCompositeFieldContainer[StatsSample]
    serving: bool
    started_at: _timestamp_pb2.Timestamp
    store_kind: str
    def __init__(self, samples: _Optional[_Iterable[_Union[StatsSample, _Mapping]]] = ..., store_kind: _Optional[str] = ..., serving: bool = ..., started_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListCommandStatesRequest(_message.Message):
    __slots__ = ["limit"]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    limit: int
    def __init__(self, limit: _Optional[int] = ...) -> None: ...

class ListCommandStatesResponse(_message.Message):
    __slots__ = ["commands"]
    COMMANDS_FIELD_NUMBER: _ClassVar[int]
    commands: _containers.RepeatedCompositeFieldContainer[CommandState]
    def __init__(self, commands: _Optional[_Iterable[_Union[CommandState, _Mapping]]] = ...) -> None: ...

class ListNamespacesRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ListNamespacesResponse(_message.Message):
    __slots__ = ["approximate", "computed_at", "namespaces"]
    APPROXIMATE_FIELD_NUMBER: _ClassVar[int]
    COMPUTED_AT_FIELD_NUMBER: _ClassVar[int]
    NAMESPACES_FIELD_NUMBER: _ClassVar[int]
    approximate: bool
    computed_at: _timestamp_pb2.Timestamp
    namespaces: _containers.RepeatedCompositeFieldContainer[NamespaceInfo]
    def __init__(self, namespaces: _Optional[_Iterable[_Union[NamespaceInfo, _Mapping]]] = ..., approximate: bool = ..., computed_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class MethodStats(_message.Message):
    __slots__ = ["calls_per_second", "errors_per_second", "method", "p50_ms", "p99_ms", "service"]
    CALLS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    ERRORS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    P50_MS_FIELD_NUMBER: _ClassVar[int]
    P99_MS_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    calls_per_second: float
    errors_per_second: float
    method: str
    p50_ms: float
    p99_ms: float
    service: str
    def __init__(self, service: _Optional[str] = ..., method: _Optional[str] = ..., calls_per_second: _Optional[float] = ..., errors_per_second: _Optional[float] = ..., p50_ms: _Optional[float] = ..., p99_ms: _Optional[float] = ...) -> None: ...

class NamespaceInfo(_message.Message):
    __slots__ = ["keys", "name"]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    keys: int
    name: str
    def __init__(self, name: _Optional[str] = ..., keys: _Optional[int] = ...) -> None: ...

class StatsSample(_message.Message):
    __slots__ = ["hit_ratio", "interval_ms", "methods", "reads_per_second", "store", "time"]
    HIT_RATIO_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    METHODS_FIELD_NUMBER: _ClassVar[int]
    READS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    STORE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    hit_ratio: float
    interval_ms: int
    methods: _containers.RepeatedCompositeFieldContainer[MethodStats]
    reads_per_second: float
    store: _containers.RepeatedCompositeFieldContainer[StoreStats]
    time: _timestamp_pb2.Timestamp
    def __init__(self, time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., interval_ms: _Optional[int] = ..., methods: _Optional[_Iterable[_Union[MethodStats, _Mapping]]] = ..., hit_ratio: _Optional[float] = ..., reads_per_second: _Optional[float] = ..., store: _Optional[_Iterable[_Union[StoreStats, _Mapping]]] = ...) -> None: ...

class StoreStats(_message.Message):
    __slots__ = ["calls_per_second", "errors_per_second", "op", "p50_ms", "p99_ms"]
    CALLS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    ERRORS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    OP_FIELD_NUMBER: _ClassVar[int]
    P50_MS_FIELD_NUMBER: _ClassVar[int]
    P99_MS_FIELD_NUMBER: _ClassVar[int]
    calls_per_second: float
    errors_per_second: float
    op: str
    p50_ms: float
    p99_ms: float
    def __init__(self, op: _Optional[str] = ..., calls_per_second: _Optional[float] = ..., errors_per_second: _Optional[float] = ..., p50_ms: _Optional[float] = ..., p99_ms: _Optional[float] = ...) -> None: ...
