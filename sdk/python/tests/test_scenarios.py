"""The Python runner of the language-neutral SDK scenarios in
test/scenarios/*.json, for the sync and the async client, on both stores."""

import asyncio
import base64
import inspect
import json
import time
from pathlib import Path

import pytest

import larder

from conftest import REPO

SCENARIOS = sorted((REPO / "test" / "scenarios").glob("*.json"))


def to_sdk(value):
    """The SDK's form of a scenario value: {"$bytes": base64} → bytes."""
    if isinstance(value, dict) and set(value) == {"$bytes"}:
        return base64.b64decode(value["$bytes"])
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
                assert caught.value.code == step["error"], where
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
def test_scenario_sync(path: Path, larder_url: str, namespace: str):
    with larder.Cache(url=larder_url, namespace=namespace) as cache:
        run_scenario(cache, json.loads(path.read_text()))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_async(path: Path, larder_url: str, namespace: str):
    loop = asyncio.new_event_loop()
    try:
        cache = loop.run_until_complete(_open_async(larder_url, namespace))
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
    assert len(SCENARIOS) >= 9
