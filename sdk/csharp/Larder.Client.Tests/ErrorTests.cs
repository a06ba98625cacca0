using Larder.Client.Tests.Fixtures;

namespace Larder.Client.Tests;

/// <summary>Errors: the server's refusals, retries, deadlines, cancellation and headers.</summary>
public abstract class ErrorTests(LarderFixture server)
{
    public static TheoryData<string> EmptyKeyCalls => new() { "Get", "Set", "Exists", "Delete", "Extend", "Increment", "GetEntry", "GetMany" };

    [Theory]
    [MemberData(nameof(EmptyKeyCalls))]
    public async Task An_empty_key_fails_with_InvalidArgument_naming_the_key(string method)
    {
        using var cache = server.NewCache();
        Func<Task> call = method switch
        {
            "Get" => () => cache.Get<string>(""),
            "Set" => () => cache.Set("", "v"),
            "Exists" => () => cache.Exists(""),
            "Delete" => () => cache.Delete(""),
            "Extend" => () => cache.Extend("", 5),
            "Increment" => () => cache.Increment(""),
            "GetEntry" => () => cache.GetEntry<string>(""),
            _ => () => cache.GetMany<string>(["ok", ""]),
        };
        var e = await Assert.ThrowsAsync<LarderException>(call);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal("INVALID_ARGUMENT", e.CodeName);
        Assert.Contains("key", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_over_the_limit_names_the_limit()
    {
        using var cache = server.NewCache();
        var e = await Assert.ThrowsAsync<LarderException>(() => cache.Set(new string('k', 1025), 1));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("1024", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_TTLs_fail_with_InvalidArgument()
    {
        using var cache = server.NewCache();
        var negative = await Assert.ThrowsAsync<LarderException>(() => cache.Set("k", 1, -5));
        Assert.Equal(StatusCode.InvalidArgument, negative.StatusCode);
        Assert.Contains("ttl", negative.Message, StringComparison.Ordinal);
        var tooLong = await Assert.ThrowsAsync<LarderException>(() => cache.Set("k", 1, TimeSpan.FromDays(31)));
        Assert.Equal(StatusCode.InvalidArgument, tooLong.StatusCode);
        var notANumber = await Assert.ThrowsAsync<LarderException>(() => cache.Set("k", 1, double.NaN));
        Assert.Equal(StatusCode.InvalidArgument, notANumber.StatusCode);
        var both = await Assert.ThrowsAsync<LarderException>(() => cache.Set("k", 1, new SetOptions { Ttl = TimeSpan.FromSeconds(1), NoExpiry = true }));
        Assert.Equal(StatusCode.InvalidArgument, both.StatusCode);
        Assert.False(await cache.Exists("k"));
    }

    [Fact]
    public void Construction_rejects_a_missing_or_odd_url()
    {
        Assert.Throws<ArgumentException>(() => new LarderCache(new LarderOptions()));
        Assert.Throws<ArgumentException>(() => new LarderCache(new LarderOptions { Url = "localhost:8080" }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LarderCache(new LarderOptions { Url = server.Url, Retries = -1 }));
    }

    [Fact]
    public async Task Unavailable_is_retried_for_calls_safe_to_repeat()
    {
        var flaky = new FlakyHandler(failures: 2);
        using var http = new HttpClient(flaky);
        using var cache = server.NewCache(configure: o => o.HttpClient = http);

        Assert.True(await cache.Set("k", 1));
        Assert.Equal(3, flaky.Attempts);
        flaky.Reset(failures: 2);
        Assert.Equal(1, await cache.Get<int>("k"));
        Assert.Equal(3, flaky.Attempts);
        flaky.Reset(failures: 3);
        var e = await Assert.ThrowsAsync<LarderException>(() => cache.Exists("k"));
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.Equal(3, flaky.Attempts);
    }

    [Fact]
    public async Task Increment_Extend_and_conditional_Set_are_never_retried()
    {
        var flaky = new FlakyHandler(failures: 0);
        using var http = new HttpClient(flaky);
        using var cache = server.NewCache(configure: o => o.HttpClient = http);
        await cache.Set("k", 1);

        foreach (var call in new Func<Task>[]
        {
            () => cache.Increment("k"),
            () => cache.Extend("k", 5),
            () => cache.Set("k", 2, new SetOptions { OnlyIfPresent = true }),
        })
        {
            flaky.Reset(failures: 1);
            var e = await Assert.ThrowsAsync<LarderException>(call);
            Assert.Equal(StatusCode.Unavailable, e.StatusCode);
            Assert.Equal(1, flaky.Attempts);
        }
        Assert.Equal(1, await cache.Get<int>("k"));
    }

    [Fact]
    public async Task An_unreachable_server_is_Unavailable_after_the_retries()
    {
        var counting = new FlakyHandler(failures: 0);
        using var http = new HttpClient(counting);
        using var cache = new LarderCache(new LarderOptions { Url = $"http://127.0.0.1:{Ports.Free()}", HttpClient = http, Retries = 1 });
        var e = await Assert.ThrowsAsync<LarderException>(() => cache.Get<string>("k"));
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.Equal(2, counting.Attempts);
    }

    [Fact]
    public async Task A_slow_answer_fails_with_DeadlineExceeded_and_the_deadline_is_sent()
    {
        var slow = new FlakyHandler(failures: 0) { Delay = TimeSpan.FromSeconds(3) };
        using var http = new HttpClient(slow);
        using var cache = server.NewCache(configure: o => { o.HttpClient = http; o.Timeout = TimeSpan.FromMilliseconds(300); });
        var e = await Assert.ThrowsAsync<LarderException>(() => cache.Get<string>("k"));
        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        Assert.Equal(1, slow.Attempts);
        // gRPC sends what is left of the deadline, in milliseconds ("299m").
        var sent = slow.LastRequest!.Headers.GetValues("grpc-timeout").Single();
        Assert.EndsWith("m", sent, StringComparison.Ordinal);
        Assert.InRange(int.Parse(sent[..^1], System.Globalization.CultureInfo.InvariantCulture), 1, 300);
    }

    [Fact]
    public async Task Cancelling_throws_OperationCanceledException()
    {
        var slow = new FlakyHandler(failures: 0) { Delay = TimeSpan.FromSeconds(3) };
        using var http = new HttpClient(slow);
        using var cache = server.NewCache(configure: o => o.HttpClient = http);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cache.Get<string>("k", cts.Token));
    }

    [Fact]
    public async Task The_namespace_and_api_key_travel_as_headers()
    {
        var spy = new FlakyHandler(failures: 0);
        using var http = new HttpClient(spy);
        using var cache = new LarderCache(new LarderOptions { Url = server.Url, HttpClient = http, Namespace = "billing", ApiKey = "s3cret" });
        await cache.Exists("k");
        var request = spy.LastRequest!;
        Assert.Equal("billing", request.Headers.GetValues("larder-namespace").Single());
        Assert.Equal("Bearer s3cret", request.Headers.GetValues("authorization").Single());
        Assert.Equal("application/grpc", request.Content!.Headers.ContentType!.MediaType);
        Assert.Equal(new Version(2, 0), request.Version);
        Assert.EndsWith("/larder.v1.CacheService/Has", request.RequestUri!.AbsolutePath, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_disposed_cache_refuses_calls()
    {
        var cache = server.NewCache();
        cache.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => cache.Get<string>("k"));
    }

    /// <summary>
    /// Answers the first <c>failures</c> attempts with a gRPC UNAVAILABLE
    /// (a trailers-only response), as a server whose store is down does, and
    /// passes the rest to the real server; counts attempts and keeps the last
    /// request.
    /// </summary>
    private sealed class FlakyHandler(int failures) : DelegatingHandler(new SocketsHttpHandler())
    {
        private int _failures = failures;
        private int _attempts;

        public int Attempts => _attempts;

        public TimeSpan Delay { get; init; }

        public HttpRequestMessage? LastRequest { get; private set; }

        public void Reset(int failures)
        {
            _failures = failures;
            _attempts = 0;
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            Interlocked.Increment(ref _attempts);
            LastRequest = request;
            if (Delay > TimeSpan.Zero)
            {
                await Task.Delay(Delay, ct);
            }
            if (Interlocked.Decrement(ref _failures) >= 0)
            {
                return GrpcAnswers.Error(Grpc.Core.StatusCode.Unavailable, "store: not reachable");
            }
            return await base.SendAsync(request, ct);
        }
    }
}

[Collection(MemoryServerDefinition.Name)]
public sealed class MemoryErrorTests(MemoryFixture server) : ErrorTests(server);

[Collection(RedisServerDefinition.Name)]
public sealed class RedisErrorTests(RedisFixture server) : ErrorTests(server);
