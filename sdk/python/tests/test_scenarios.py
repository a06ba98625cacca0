"""The Python runner of the language-neutral SDK scenarios in
test/scenarios/*.json, for the sync and the async client, on both stores,
against servers with the scenario settings of test/scenarios/README.md."""

import asyncio
import base64
import inspect
import json
import os
import time
from pathlib import Path

import pytest

import larder

from conftest import REPO, larder_with_config

SCENARIOS = sorted((REPO / "test" / "scenarios").glob("*.json"))
CLIENTS = ("sync", "async")
# Commands are configured per namespace, so every scenario's namespace (one
# per client) is chosen before the servers start.
_RUN = os.urandom(4).hex()
NAMESPACES = {(p.stem, client): f"py-scenario-{client}-{p.stem}-{_RUN}" for p in SCENARIOS for client in CLIENTS}


def scenario_config(upstream_url: str) -> dict:
    """The scenario server's settings: a small value limit, and the commands
    echo (the upstream's POST /echo answers the request body) and down
    (nothing listens on port 1) in every scenario namespace."""
    common = {"allowPrivateNetwork": True, "cacheSeconds": 15, "timeoutMs": 3000}
    commands = {
        "echo": {**common, "method": "POST", "url": f"{upstream_url}/echo"},
        "down": {**common, "url": "http://127.0.0.1:1/"},
    }
    return {"limits": {"maxValueBytes": 1024}, "commands": {ns: commands for ns in NAMESPACES.values()}}


@pytest.fixture(scope="module", params=["memory", "redis"])
def scenario_url(request, upstream, tmp_path_factory):
    """A live server with the scenario settings, once per store kind."""
    yield from larder_with_config(request.param, scenario_config(upstream.url), tmp_path_factory, "scenario-config")


def to_sdk(value):
    """The SDK's form of a scenario value: {"$bytes": base64} → bytes,
    {"$repeat": [text, n]} → the text n times."""
    if isinstance(value, dict) and set(value) == {"$bytes"}:
        return base64.b64decode(value["$bytes"])
    if isinstance(value, dict) and set(value) == {"$repeat"}:
        text, times = value["$repeat"]
        return text * times
    return value


def from_sdk(value):
    """The scenario form of an SDK value."""
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    return value


class Blocking:
    """Runs an AsyncCache (or its lock handles) from synchronous code, so
    that one runner drives both clients."""

    def __init__(self, target, loop):
        self._target, self._loop = target, loop

    def __getattr__(self, name):
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            result = attr(*args, **kwargs)
            if inspect.isawaitable(result):
                result = self._loop.run_until_complete(result)
            return Blocking(result, self._loop) if isinstance(result, larder.AsyncLockHandle) else result

        return call


def run_step(cache, step, handles):
    op, key = step["op"], step.get("key", "")
    if op == "set":
        lock = handles[step["lock"]] if "lock" in step else None
        return cache.set(key, to_sdk(step["value"]), step.get("ttl"), lock=lock)
    if op == "get":
        return from_sdk(cache.get(key))
    if op == "has":
        return cache.has(key)
    if op == "delete":
        return cache.delete(key)
    if op == "extend":
        return cache.extend(key, step["seconds"])
    if op == "keys":
        return sorted(cache.keys(step.get("pattern")))
    if op == "get_many":
        return [from_sdk(v) for v in cache.get_many(step["keys"]).values()]
    if op == "get_or_set":
        computed = []
        value = cache.get_or_set(key, lambda: computed.append(1) or to_sdk(step["value"]), step.get("ttl"))
        if "computed" in step:
            assert bool(computed) == step["computed"], "whether the factory ran"
        return from_sdk(value)
    if op == "increment":
        return cache.increment(key, step.get("delta", 1), step.get("ttl"))
    if op == "lock":
        handle = cache.lock(step.get("name", ""), ttl=step.get("ttl"), wait=step.get("wait"))
        assert handle.fencing_token > 0 and handle.token
        if "as" in step:
            handles[step["as"]] = handle
        else:
            handle.release()
        return {"acquired": True}
    if op == "unlock":
        return handles[step["handle"]].release()
    if op == "set_many":
        # The wrapper returns nothing per entry, so "created" is not checked here.
        cache.set_many([(e["key"], to_sdk(e["value"]), e.get("ttl")) for e in step["entries"]])
        return None
    if op == "run_command":
        res = cache.run_command(step["name"], args=step.get("args"), body=step.get("body"))
        return {"status": res.status, "served_from": res.served_from, "fallback": res.fallback, "body": res.json()}
    if op == "command_events":
        return [{"command": e.command, "kind": e.kind, "upstream_status": e.upstream_status}
                for e in cache.command_events(step.get("command"))]
    if op == "sleep":
        time.sleep(step["ms"] / 1000)
        return None
    raise AssertionError(f"unknown op {op}")


def run_scenario(cache, scenario):
    handles = {}
    try:
        for i, step in enumerate(scenario["steps"], 1):
            where = f"step {i} ({step['op']} {step.get('key', step.get('name', step.get('handle', '')))!r})"
            if "error" in step:
                with pytest.raises(larder.LarderError) as caught:
                    run_step(cache, step, handles)
                assert caught.value.code == step["error"], f"{where}: {caught.value}"
                assert step.get("message", "") in caught.value.message, f"{where}: {caught.value}"
            else:
                got = run_step(cache, step, handles)
                if step["op"] != "sleep":
                    assert got == step["expect"], where
    finally:
        for handle in handles.values():
            try:
                handle.release()
            except larder.LarderError:
                pass


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_sync(path: Path, scenario_url: str):
    with larder.Cache(url=scenario_url, namespace=NAMESPACES[(path.stem, "sync")]) as cache:
        run_scenario(cache, json.loads(path.read_text()))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_async(path: Path, scenario_url: str):
    loop = asyncio.new_event_loop()
    try:
        cache = loop.run_until_complete(_open_async(scenario_url, NAMESPACES[(path.stem, "async")]))
        try:
            run_scenario(Blocking(cache, loop), json.loads(path.read_text()))
        finally:
            loop.run_until_complete(cache.close())
    finally:
        loop.close()


async def _open_async(url, namespace):
    # grpc.aio binds a channel to the running loop, so create it inside.
    return larder.AsyncCache(url=url, namespace=namespace)


def test_scenarios_exist():
    assert len(SCENARIOS) >= 11
