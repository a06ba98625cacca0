"""The batch, listing and lock operations and the server's errors, against a
live server on both stores, with the sync and the async client."""

import asyncio
import threading
import time
import types

import pytest

import larder


def test_set_many_with_per_entry_ttl_in_batches(larder_url, namespace):
    with larder.Cache(url=larder_url, namespace=namespace) as cache:
        cache.set_many({f"k{i}": {"n": i} for i in range(2500)}, ttl=60)  # three batches
        cache.set_many([("short", "gone soon", 0.3), ("long", b"\x00\x01"), ("none", None, None)], ttl=60)
        got = cache.get_many([f"k{i}" for i in range(0, 2500, 500)] + ["short", "long", "none"])
        assert list(got.values()) == [{"n": i} for i in range(0, 2500, 500)] + ["gone soon", b"\x00\x01", None]
        assert cache.has("none")
        time.sleep(0.5)
        assert cache.get_many(["short", "long"]) == {"short": None, "long": b"\x00\x01"}
        assert len(cache.keys("k*")) == 2500
        cache.set_many({})  # nothing to send


def test_delete_many_counts_across_batches(larder_url, namespace):
    with larder.Cache(url=larder_url, namespace=namespace) as cache:
        cache.set_many({f"d{i}": i for i in range(1500)})
        assert cache.delete_many([f"d{i}" for i in range(1500)] + ["missing"]) == 1500
        cache.set_many({"a": 1, "b": 2})
        assert cache.delete(["a", "b", "c"]) is True
        assert cache.delete(["a", "b"]) is False
        assert cache.delete_many([]) == 0


def test_iter_keys_pages_lazily(larder_url, namespace):
    with larder.Cache(url=larder_url, namespace=namespace) as cache:
        cache.set_many({f"p:{i:02}": i for i in range(30)} | {"other": 0})
        it = cache.iter_keys("p:*", page_size=7)
        assert iter(it) is it  # a generator: nothing fetched until consumed
        assert sorted(set(it)) == [f"p:{i:02}" for i in range(30)]
        assert sorted(cache.keys()) == sorted([f"p:{i:02}" for i in range(30)] + ["other"])
        with pytest.raises(larder.LarderError) as caught:
            list(cache.iter_keys(page_size=0))
        assert caught.value.code == "INVALID_ARGUMENT"


def test_try_check_and_list_locks(larder_url, namespace):
    with larder.Cache(url=larder_url, namespace=namespace) as cache:
        assert cache.check_lock("job") is True
        held = cache.try_lock("job", ttl=30, owner="worker-1")
        assert held is not None and held.fencing_token > 0
        assert cache.try_lock("job") is None
        assert cache.check_lock("job") is False
        other = cache.lock("other-job", ttl=30)
        locks = {info.name: info for info in cache.list_locks()}
        assert set(locks) == {"job", "other-job"}
        assert locks["job"].owner == "worker-1" and locks["job"].fencing_token == held.fencing_token
        assert locks["job"].expires_at is not None
        assert [info.name for info in cache.list_locks("other-*")] == ["other-job"]
        # check_lock with a wait answers as soon as the holder releases.
        threading.Timer(0.3, held.release).start()
        started = time.monotonic()
        assert cache.check_lock("job", wait=5) is True
        assert time.monotonic() - started < 3
        other.release()
        assert cache.list_locks() == []


def test_auto_renew_keeps_a_lock_past_its_ttl(larder_url, namespace):
    with larder.Cache(url=larder_url, namespace=namespace) as cache:
        with cache.lock("long", ttl=1, auto_renew=True) as lock:
            time.sleep(2.2)
            assert cache.try_lock("long") is None and not lock.lost
        assert cache.check_lock("long") is True
        # Without renewal the same lock is free after its TTL.
        cache.lock("short", ttl=0.5)
        time.sleep(0.8)
        assert cache.check_lock("short") is True


def test_get_or_set_renews_its_compute_lock(larder_url, namespace):
    """Two clients (two processes, as far as the lock is concerned) race on a
    factory slower than the compute lock's TTL: it runs once."""
    calls = []

    def slow():
        calls.append(1)
        time.sleep(2.5)
        return {"computed": len(calls)}

    caches = [larder.Cache(url=larder_url, namespace=namespace, compute_lock_ttl=1) for _ in range(2)]
    try:
        results = []
        threads = [threading.Thread(target=lambda c=c: results.append(c.get_or_set("slow", slow, ttl=60)))
                   for c in caches]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert calls == [1]
        assert results == [{"computed": 1}] * 2
        assert caches[0].list_locks("larder:compute:*") == []
    finally:
        for c in caches:
            c.close()


def test_async_get_or_set_renews_its_compute_lock(larder_url, namespace):
    calls = []

    async def slow():
        calls.append(1)
        await asyncio.sleep(2.5)
        return "v"

    async def main():
        caches = [larder.AsyncCache(url=larder_url, namespace=namespace, compute_lock_ttl=1) for _ in range(2)]
        try:
            results = await asyncio.gather(*(c.get_or_set("slow", slow, ttl=60) for c in caches))
            return results, await caches[0].list_locks()
        finally:
            for c in caches:
                await c.close()

    assert asyncio.run(main()) == (["v", "v"], [])
    assert calls == [1]


def test_async_batch_listing_and_lock_operations(larder_url, namespace):
    async def main():
        async with larder.AsyncCache(url=larder_url, namespace=namespace) as cache:
            await cache.set_many([(f"a{i}", i, 60) for i in range(1200)])
            listed = [k async for k in cache.iter_keys("a1*", page_size=50)]
            assert sorted(set(listed)) == sorted(k for k in (f"a{i}" for i in range(1200)) if k.startswith("a1"))
            assert len(await cache.keys()) == 1200
            assert await cache.delete_many([f"a{i}" for i in range(1200)]) == 1200
            held = await cache.try_lock("job", ttl=1, auto_renew=True)
            assert await cache.try_lock("job") is None
            assert not await cache.check_lock("job")
            assert [i.name for i in await cache.list_locks("j*")] == ["job"]
            await asyncio.sleep(1.6)
            assert await cache.try_lock("job") is None and not held.lost
            await held.release()
            return await cache.check_lock("job", wait=1)

    assert asyncio.run(main()) is True


def errors_of(cache, calls):
    out = []
    for call in calls:
        with pytest.raises(larder.LarderError) as caught:
            call()
        out.append((caught.value.code, caught.value.message))
    return out


def test_errors_carry_the_code_and_the_servers_message(larder_url, namespace):
    with larder.Cache(url=larder_url, namespace=namespace) as cache:
        lock = cache.lock("real", ttl=30)
        forged = types.SimpleNamespace(name="real", token="")
        stale = larder.LockHandle(cache, "real", types.SimpleNamespace(token="not-the-token", fencing_token=1,
                                                                       expires_at=None))
        got = errors_of(cache, [
            lambda: cache.set("", 1),
            lambda: cache.set_many({"ok": 1, "": 2}),
            lambda: cache.set("big", b"x" * (1024 * 1024 + 1)),
            lambda: cache.set_many({"big": b"x" * (1024 * 1024 + 1)}),
            lambda: cache.set("k", 1, ttl=31 * 86400),
            lambda: cache.set_many({"k": 1}, ttl=-1),
            lambda: cache.set("k", 1, lock=forged),
            lambda: stale.extend(),
            lambda: cache.run_command("undefined-command"),
        ])
        codes = [code for code, _ in got]
        assert codes == ["INVALID_ARGUMENT"] * 7 + ["FAILED_PRECONDITION", "NOT_FOUND"]
        fields = ["key", "entries[1].key", "value", "entries[0].value", "ttl_ms", "entries[0].ttl", "lock_guard",
                  "no longer held", '"undefined-command"']
        for (code, message), field in zip(got, fields):
            assert field in message, (code, message, field)
        assert cache.set("k", 1, lock=stale) is False  # a wrong token is "not applied", not an error
        assert lock.release() is True
