from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

COMMAND_EVENT_KIND_FALLBACK_ACTIVATED: CommandEventKind
COMMAND_EVENT_KIND_FALLBACK_DEACTIVATED: CommandEventKind
COMMAND_EVENT_KIND_UNSPECIFIED: CommandEventKind
DESCRIPTOR: _descriptor.FileDescriptor
SERVED_FROM_CACHED: ServedFrom
SERVED_FROM_FALLBACK: ServedFrom
SERVED_FROM_LIVE: ServedFrom
SERVED_FROM_UNSPECIFIED: ServedFrom

class Body(_message.Message):
    __slots__ = ["binary", "text"]
    BINARY_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    binary: bytes
    text: str
    def __init__(self, text: _Optional[str] = ..., binary: _Optional[bytes] = ...) -> None: ...

class CommandEvent(_message.Message):
    __slots__ = ["command", "kind", "level", "time", "upstream_status"]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_STATUS_FIELD_NUMBER: _ClassVar[int]
    command: str
    kind: CommandEventKind
    level: str
    time: _timestamp_pb2.Timestamp
    upstream_status: int
    def __init__(self, time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., command: _Optional[str] = ..., upstream_status: _Optional[int] = ..., kind: _Optional[_Union[CommandEventKind, str]] = ..., level: _Optional[str] = ...) -> None: ...

class Header(_message.Message):
    __slots__ = ["name", "value"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class ListCommandEventsRequest(_message.Message):
    __slots__ = ["command", "limit"]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    command: str
    limit: int
    def __init__(self, command: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListCommandEventsResponse(_message.Message):
    __slots__ = ["events"]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[CommandEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[CommandEvent, _Mapping]]] = ...) -> None: ...

class RunCommandRequest(_message.Message):
    __slots__ = ["args", "body", "headers", "name"]
    class ArgsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class HeadersEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ARGS_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    args: _containers.ScalarMap[str, str]
    body: Body
    headers: _containers.ScalarMap[str, str]
    name: str
    def __init__(self, name: _Optional[str] = ..., args: _Optional[_Mapping[str, str]] = ..., headers: _Optional[_Mapping[str, str]] = ..., body: _Optional[_Union[Body, _Mapping]] = ...) -> None: ...

class RunCommandResponse(_message.Message):
    __slots__ = ["age_ms", "body", "cache_fallback", "headers", "served_from", "status", "url"]
    AGE_MS_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    CACHE_FALLBACK_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    SERVED_FROM_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    age_ms: int
    body: Body
    cache_fallback: bool
    headers: _containers.RepeatedCompositeFieldContainer[Header]
    served_from: ServedFrom
    status: int
    url: str
    def __init__(self, status: _Optional[int] = ..., headers: _Optional[_Iterable[_Union[Header, _Mapping]]] = ..., body: _Optional[_Union[Body, _Mapping]] = ..., cache_fallback: bool = ..., served_from: _Optional[_Union[ServedFrom, str]] = ..., age_ms: _Optional[int] = ..., url: _Optional[str] = ...) -> None: ...

class ServedFrom(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class CommandEventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
