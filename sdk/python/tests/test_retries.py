"""Which calls are retried on UNAVAILABLE: only those safe to repeat. A stub
that always answers UNAVAILABLE stands in for the server and counts the
attempts of each method."""

import asyncio
import collections
import types

import grpc
import pytest

import larder

RETRIES = 2


class Unavailable(grpc.RpcError):
    def code(self):
        return grpc.StatusCode.UNAVAILABLE

    def details(self):
        return "server down"


class CountingStub:
    """Every method raises UNAVAILABLE and counts its attempts."""

    def __init__(self, is_async: bool):
        self.attempts = collections.Counter()
        self._async = is_async

    def __getattr__(self, method):
        def call(request, **kwargs):
            self.attempts[method] += 1
            raise Unavailable()

        async def acall(request, **kwargs):
            call(request, **kwargs)

        return acall if self._async else call


#: What a lock handle gives a guarded set.
GUARD = types.SimpleNamespace(name="l", token="t")

# (what the caller does, the RPC, whether it is retried)
OPERATIONS = [
    (lambda c: c.get("k"), "Get", True),
    (lambda c: c.set("k", 1), "Set", True),
    (lambda c: c.set("k", 1, only_if_absent=True), "Set", False),
    (lambda c: c.set("k", 1, lock=GUARD), "Set", False),
    (lambda c: c.set_many({"a": 1, "b": 2}, ttl=5), "SetMany", True),
    (lambda c: c.delete_many(["a", "b"]), "Delete", True),
    (lambda c: c.keys(), "Keys", True),
    (lambda c: c.increment("n"), "Increment", False),
    (lambda c: c.extend("k", 1), "Extend", False),
    (lambda c: c.try_lock("l"), "Lock", False),
    (lambda c: c.check_lock("l"), "CheckLock", True),
    (lambda c: c.list_locks(), "ListLocks", True),
    (lambda c: c.run_command("cmd", args={"id": "1"}), "RunCommand", False),
    (lambda c: c.command_events(), "ListCommandEvents", True),
]
IDS = [f"{rpc}-{'retried' if retried else 'once'}-{i}" for i, (_, rpc, retried) in enumerate(OPERATIONS)]


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(larder._common, "backoff", lambda retry: 0.0)


@pytest.mark.parametrize("operation,rpc,retried", OPERATIONS, ids=IDS)
def test_sync_retries_only_what_is_safe_to_repeat(operation, rpc, retried):
    with larder.Cache(url="http://127.0.0.1:9", retries=RETRIES) as cache:
        cache._stub = stub = CountingStub(False)
        with pytest.raises(larder.LarderError) as caught:
            operation(cache)
    assert caught.value.code == "UNAVAILABLE"
    assert stub.attempts == {rpc: RETRIES + 1 if retried else 1}


@pytest.mark.parametrize("operation,rpc,retried", OPERATIONS, ids=IDS)
def test_async_retries_only_what_is_safe_to_repeat(operation, rpc, retried):
    async def main():
        async with larder.AsyncCache(url="http://127.0.0.1:9", retries=RETRIES) as cache:
            cache._stub = stub = CountingStub(True)
            with pytest.raises(larder.LarderError) as caught:
                await operation(cache)
            return caught.value.code, stub.attempts

    code, attempts = asyncio.run(main())
    assert code == "UNAVAILABLE"
    assert attempts == {rpc: RETRIES + 1 if retried else 1}
