"""The idiomatic parts of the Python SDK that the shared scenarios cannot
express: context managers, single flight, local argument checks."""

import asyncio
import threading
import time

import pytest

import larder


def test_with_lock_releases_at_the_end_of_the_block(larder_url, namespace):
    with larder.Cache(url=larder_url, namespace=namespace) as cache:
        with cache.lock("job", ttl=30) as lock:
            assert lock.fencing_token > 0
            with pytest.raises(larder.LockNotAcquired) as caught:
                cache.lock("job", wait=0.1)
            assert caught.value.code == "ABORTED"
            assert caught.value.holder is not None
            assert cache.set("out", "done", lock=lock) is True
        with cache.lock("job") as again:
            assert again.fencing_token > lock.fencing_token


def test_async_with_lock_and_await_lock(larder_url, namespace):
    async def main():
        async with larder.AsyncCache(url=larder_url, namespace=namespace) as cache:
            async with cache.lock("job", ttl=30) as lock:
                with pytest.raises(larder.LockNotAcquired):
                    await cache.lock("job")
                assert await cache.set("out", {"by": lock.fencing_token}, lock=lock)
                token = lock.fencing_token
            handle = await cache.lock("job")
            assert handle.fencing_token > token
            assert await handle.release() is True
            return token, await cache.get("out")

    token, out = asyncio.run(main())
    assert token >= 1
    assert out == {"by": token}


def test_get_or_set_computes_once_for_concurrent_callers(larder_url, namespace):
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.2)
        return {"n": len(calls)}

    with larder.Cache(url=larder_url, namespace=namespace) as cache:
        results = []
        threads = [threading.Thread(target=lambda: results.append(cache.get_or_set("k", slow, ttl=60)))
                   for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert calls == [1]
        assert results == [{"n": 1}] * 8


def test_async_get_or_set_computes_once(larder_url, namespace):
    calls = []

    async def slow():
        calls.append(1)
        await asyncio.sleep(0.2)
        return "v"

    async def main():
        async with larder.AsyncCache(url=larder_url, namespace=namespace) as cache:
            return await asyncio.gather(*(cache.get_or_set("k", slow, ttl=60) for _ in range(8)))

    assert asyncio.run(main()) == ["v"] * 8
    assert calls == [1]


def test_local_argument_errors(larder_url, namespace):
    with larder.Cache(url=larder_url, namespace=namespace) as cache:
        for call in (lambda: cache.set("k", 1, ttl=-1), lambda: cache.set("k", float("nan")),
                     lambda: cache.set("k", object()), lambda: cache.get_many("not-a-list")):
            with pytest.raises(larder.LarderError) as caught:
                call()
            assert caught.value.code == "INVALID_ARGUMENT"


def test_unreachable_server_is_unavailable_after_retries():
    with larder.Cache(url="http://127.0.0.1:9", timeout=1, retries=1) as cache:
        with pytest.raises(larder.LarderError) as caught:
            cache.get("k")
        assert caught.value.code == "UNAVAILABLE"
