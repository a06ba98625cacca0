"""RunCommand and command events against a live server whose config defines
commands over the suite's local upstream (conftest.py, upstream.py), on both
stores, with the sync and the async client."""

import asyncio
import os
import time
from datetime import datetime, timedelta, timezone

import pytest

import larder
from conftest import COMMANDS_NAMESPACE
from upstream import BLOB


def fresh_id() -> str:
    # The cache identity includes the args, so a fresh id is a fresh identity.
    return os.urandom(4).hex()


def check_live_then_cached(first, second, upstream, order_id):
    assert (first.status, first.ok, first.served_from, first.fallback, first.age) == (200, True, "live", False, 0)
    assert first.json() == {"id": order_id, "hit": 1, "tenant": "acme"}
    assert first.is_json() and first.headers["content-type"].startswith("application/json")
    assert first.headers["x-upstream"] == "test"
    assert first.url == f"{upstream.url}/orders/{order_id}"
    assert (second.served_from, second.fallback, second.status) == ("cached", False, 200)
    assert second.json() == first.json() and second.age >= 0
    assert upstream.hits[order_id] == 1


def test_run_command_live_then_cached(larder_url, upstream):
    order_id = fresh_id()
    with larder.Cache(url=larder_url, namespace=COMMANDS_NAMESPACE) as cache:
        first = cache.run_command("order", args={"id": order_id}, headers={"x-tenant": "acme"})
        second = cache.run_command("order", args={"id": order_id}, headers={"x-tenant": "acme"})
    check_live_then_cached(first, second, upstream, order_id)


def test_async_run_command_live_then_cached(larder_url, upstream):
    order_id = fresh_id()

    async def main():
        async with larder.AsyncCache(url=larder_url, namespace=COMMANDS_NAMESPACE) as cache:
            first = await cache.run_command("order", args={"id": order_id}, headers={"x-tenant": "acme"})
            return first, await cache.run_command("order", args={"id": order_id}, headers={"x-tenant": "acme"})

    check_live_then_cached(*asyncio.run(main()), upstream, order_id)


def test_run_command_bodies(larder_url):
    with larder.Cache(url=larder_url, namespace=COMMANDS_NAMESPACE) as cache:
        blob = cache.run_command("blob", args={"id": 7})
        assert blob.body == BLOB and blob.served_from == "live"
        with pytest.raises(larder.LarderError) as caught:
            blob.json()
        assert caught.value.code == "FAILED_PRECONDITION" and "body" in caught.value.message
        assert cache.run_command("echo", body={"q": "ü", "n": [1, 2]}).json() == {"q": "ü", "n": [1, 2]}
        assert cache.run_command("echo", body=b"\x00\xff").body == b"\x00\xff"
        assert cache.run_command("echo", body="plain").text() == "plain"


def test_run_command_errors_name_the_command_and_field(larder_url):
    with larder.Cache(url=larder_url, namespace=COMMANDS_NAMESPACE) as cache:
        with pytest.raises(larder.LarderError) as caught:
            cache.run_command("nope")
        assert caught.value.code == "NOT_FOUND" and '"nope"' in caught.value.message
        with pytest.raises(larder.LarderError) as caught:
            cache.run_command("order", args={"bad": "1"})
        assert caught.value.code == "INVALID_ARGUMENT" and "args.bad" in caught.value.message
        with pytest.raises(larder.LarderError) as caught:
            cache.run_command("order", args={"id": object()})
        assert caught.value.code == "INVALID_ARGUMENT" and "args.id" in caught.value.message


def test_async_undefined_command_is_not_found(larder_url):
    async def main():
        async with larder.AsyncCache(url=larder_url, namespace=COMMANDS_NAMESPACE) as cache:
            await cache.run_command("nope")

    with pytest.raises(larder.LarderError) as caught:
        asyncio.run(main())
    assert caught.value.code == "NOT_FOUND"


def test_fallback_serves_the_cached_response_and_is_listed(larder_url, upstream):
    """A failing upstream after a cached live response: served from fallback,
    with its own status and body, and an activation event; a live success
    (at the latest on the 5th run) deactivates it. The cached response must
    first be older than the command's cacheSeconds (15, the minimum)."""
    sync_id, async_id = fresh_id(), fresh_id()
    started = datetime.now(timezone.utc) - timedelta(seconds=1)
    with larder.Cache(url=larder_url, namespace=COMMANDS_NAMESPACE) as cache:
        assert cache.run_command("order", args={"id": sync_id}).served_from == "live"
        asyncio.run(_async_run(larder_url, async_id))
        time.sleep(15.5)
        upstream.set_failing(sync_id, True)
        upstream.set_failing(async_id, True)

        res = cache.run_command("order", args={"id": sync_id})
        assert (res.served_from, res.fallback, res.status) == ("fallback", True, 200)
        assert res.json()["hit"] == 1 and res.age >= 15
        assert upstream.hits[sync_id] == 2  # the failed live try

        res, events = asyncio.run(_async_fallback(larder_url, async_id))
        assert (res.served_from, res.fallback, res.status) == ("fallback", True, 200)
        assert res.json()["hit"] == 1
        activated = [e for e in events if e.kind == "activated" and e.time >= started]
        assert len(activated) >= 2 and all(e.upstream_status == 503 and e.command == "order" for e in activated)

        upstream.set_failing(sync_id, False)
        served = [cache.run_command("order", args={"id": sync_id}).served_from for _ in range(5)]
        assert "live" in served, served
        events = cache.command_events("order", limit=10)
        assert events[0].kind == "deactivated" and events[0].level == "info"
        assert all(e.command == "order" for e in events)
        assert cache.command_events("no-such-command") == []


async def _async_run(url, order_id):
    async with larder.AsyncCache(url=url, namespace=COMMANDS_NAMESPACE) as cache:
        assert (await cache.run_command("order", args={"id": order_id})).served_from == "live"


async def _async_fallback(url, order_id):
    async with larder.AsyncCache(url=url, namespace=COMMANDS_NAMESPACE) as cache:
        res = await cache.run_command("order", args={"id": order_id})
        return res, await cache.command_events("order")
