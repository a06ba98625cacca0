"""RunCommand and ListCommandEvents for both clients: request building and
the answer types. Nothing here does I/O."""

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional

import grpc

from larder.v1 import command_pb2

from ._common import LarderError, datetime_of, invalid_argument

_SERVED_FROM = {
    command_pb2.SERVED_FROM_LIVE: "live",
    command_pb2.SERVED_FROM_CACHED: "cached",
    command_pb2.SERVED_FROM_FALLBACK: "fallback",
}
# The media types whose bodies json() parses without being told to:
# application/json and every +json type (problem+json, vnd.api+json, ...).
_JSON_TYPE = re.compile(r"[/+]json\b", re.IGNORECASE)


@dataclass(frozen=True)
class CommandResult:
    """What ``run_command`` returns: the upstream's response, live or cached.

    Attributes:
        status: the upstream's HTTP status (the stored one in fallback).
        headers: the response headers, lower-case names; repeated headers
            are joined with ``", "``.
        body: the response body as bytes.
        served_from: ``"live"``, ``"cached"`` (younger than the command's
            cacheSeconds) or ``"fallback"`` (stands in for a failing upstream).
        fallback: True when a cached response stands in for a failing upstream.
        age: the response's age in seconds; 0 when live.
        url: the upstream URL, without secrets.
    """

    status: int
    headers: Dict[str, str]
    body: bytes
    served_from: str
    fallback: bool
    age: float
    url: str
    _text: Optional[str] = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """Whether the status is 2xx or 3xx, which the server caches."""
        return 200 <= self.status < 400

    def text(self) -> str:
        """The body as text (UTF-8, with replacement characters for bytes that are not)."""
        return self._text if self._text is not None else self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body parsed as JSON, whatever the content type says.

        Raises LarderError (FAILED_PRECONDITION) when it is not JSON, e.g. an
        HTML error page of a failing upstream."""
        try:
            return json.loads(self.text())
        except ValueError as err:
            kind = self.headers.get("content-type", "no content-type")
            raise LarderError(grpc.StatusCode.FAILED_PRECONDITION,
                              f"body: the response ({kind}) is not JSON: {err}") from err

    def is_json(self) -> bool:
        """Whether the content type is JSON (application/json or a +json type)."""
        return bool(_JSON_TYPE.search(self.headers.get("content-type", "")))


@dataclass(frozen=True)
class CommandEvent:
    """One fallback change of a command, as ``command_events`` lists it.

    Attributes:
        time: when it happened (UTC).
        command: the command's name.
        upstream_status: the upstream status that caused it; 0 for a
            timeout or a connection failure.
        kind: ``"activated"`` or ``"deactivated"``.
        level: the log level, ``"info"``.
    """

    time: Optional[datetime]
    command: str
    upstream_status: int
    kind: str
    level: str


def run_command_request(name: str, args: Optional[Mapping[str, Any]], headers: Optional[Mapping[str, Any]],
                        body: Any) -> command_pb2.RunCommandRequest:
    """The RunCommandRequest of ``run_command``. A str body travels as text,
    bytes as binary, anything else as JSON text (as in the TypeScript SDK)."""
    if not isinstance(name, str):
        raise invalid_argument("name", f"must be a string, got {type(name).__name__}")
    req = command_pb2.RunCommandRequest(name=name)
    for what, source, target in (("args", args, req.args), ("headers", headers, req.headers)):
        if source is None:
            continue
        if not isinstance(source, Mapping):
            raise invalid_argument(what, f"must be a mapping of names to strings, got {type(source).__name__}")
        for k, v in source.items():
            # Numbers are common args (an order id); anything else is a mistake.
            if isinstance(v, bool) or not isinstance(v, (str, int, float)):
                raise invalid_argument(f"{what}.{k}", f"must be a string, got {type(v).__name__}")
            target[str(k)] = str(v)
    if body is not None:
        if isinstance(body, (bytes, bytearray, memoryview)):
            req.body.binary = bytes(body)
        elif isinstance(body, str):
            req.body.text = body
        else:
            try:
                req.body.text = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
            except (TypeError, ValueError) as err:
                raise invalid_argument("body", f"cannot be serialized as JSON: {err}") from err
    return req


def command_result(res: command_pb2.RunCommandResponse) -> CommandResult:
    """The SDK's form of a RunCommandResponse."""
    headers: Dict[str, str] = {}
    for h in res.headers:
        headers[h.name] = f"{headers[h.name]}, {h.value}" if h.name in headers else h.value
    kind = res.body.WhichOneof("kind") if res.HasField("body") else None
    text = res.body.text if kind == "text" else None
    body = res.body.binary if kind == "binary" else (text or "").encode("utf-8")
    return CommandResult(
        status=res.status,
        headers=headers,
        body=bytes(body),
        served_from=_SERVED_FROM.get(res.served_from, "live"),
        fallback=res.cache_fallback,
        age=res.age_ms / 1000,
        url=res.url,
        _text=text,
    )


def events_request(command: Optional[str], limit: Optional[int]) -> command_pb2.ListCommandEventsRequest:
    """The ListCommandEventsRequest of ``command_events``; 0 asks for the server's default (100)."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise invalid_argument("limit", f"must be a positive integer, got {limit!r}")
    return command_pb2.ListCommandEventsRequest(command=command or "", limit=limit or 0)


def command_events(res: command_pb2.ListCommandEventsResponse) -> List[CommandEvent]:
    """The SDK's form of the events, newest first as the server sends them."""
    return [
        CommandEvent(
            time=datetime_of(e.time),
            command=e.command,
            upstream_status=e.upstream_status,
            kind="deactivated" if e.kind == command_pb2.COMMAND_EVENT_KIND_FALLBACK_DEACTIVATED else "activated",
            level=e.level,
        )
        for e in res.events
    ]
