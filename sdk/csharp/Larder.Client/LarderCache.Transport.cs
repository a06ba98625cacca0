using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Larder.V1;

namespace Larder.Client;

public sealed partial class LarderCache
{
    /// <summary>
    /// The channel for <paramref name="options"/>: HTTP/2 always (gRPC needs
    /// it; on http:// Grpc.Net.Client uses prior knowledge, no upgrade).
    /// </summary>
    private static GrpcChannel CreateChannel(Uri url, LarderOptions options) => GrpcChannel.ForAddress(url, new GrpcChannelOptions
    {
        HttpClient = options.HttpClient,
        // Recycling pooled connections lets a long-lived cache follow DNS
        // changes of the server; more than one HTTP/2 connection keeps
        // many concurrent calls from queueing behind the server's
        // per-connection stream limit.
        HttpHandler = options.HttpClient is null
            ? new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                EnableMultipleHttp2Connections = true,
                SslOptions = SslOptions(options),
            }
            : null,
        // Only what the channel made itself; a caller's HttpClient stays theirs.
        DisposeHttpClient = options.HttpClient is null,
        // The server bounds its answers (batch limit times value size, the
        // command response limit), and both can pass gRPC's default 4 MiB:
        // a client cap would only turn legitimate answers into errors.
        MaxReceiveMessageSize = null,
    });

    /// <summary>
    /// The TLS options of the channel's handler: a custom root (checked by
    /// building the chain against it alone) and a client certificate.
    /// </summary>
    private static SslClientAuthenticationOptions SslOptions(LarderOptions options)
    {
        var ssl = new SslClientAuthenticationOptions();
        if (options.ClientCertificate is { } client)
        {
            ssl.ClientCertificates = [client];
        }
        if (options.RootCertificate is { } root)
        {
            ssl.RemoteCertificateValidationCallback = (_, certificate, chain, errors) => TrustedBy(root, certificate, chain, errors);
        }
        return ssl;
    }

    /// <summary>
    /// Whether the server's certificate chains up to <paramref name="root"/>.
    /// Any error but an untrusted chain (a name mismatch, no certificate)
    /// still fails, and the system roots play no part.
    /// </summary>
    private static bool TrustedBy(X509Certificate2 root, X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        // A private CA rarely publishes revocation lists.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presented is not null)
        {
            // The intermediates the server sent.
            foreach (var element in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }

    /// <summary>
    /// Runs one RPC, retrying on UNAVAILABLE when <paramref name="idempotent"/>,
    /// and turns its errors into <see cref="LarderException"/>. UNAVAILABLE is
    /// the one code that means "try again" (the server's store is down, or the
    /// server could not be reached); everything else is the caller's mistake
    /// or a deadline the caller set.
    /// </summary>
    /// <param name="idempotent">Whether repeating the call is safe.</param>
    /// <param name="rpc">Starts the call on the client with the given options.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <param name="timeout">Each attempt's deadline, from its start; null for <see cref="LarderOptions.Timeout"/>.</param>
    internal async Task<TResponse> Call<TResponse>(
        bool idempotent,
        Func<CacheService.CacheServiceClient, CallOptions, AsyncUnaryCall<TResponse>> rpc,
        CancellationToken ct,
        TimeSpan? timeout = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var attempts = idempotent ? _retries + 1 : 1;
        for (var attempt = 1; ; attempt++)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                // The deadline is per attempt, so a retry gets a full one.
                using var call = rpc(Client, new CallOptions(deadline: Deadline(timeout ?? _timeout), cancellationToken: ct));
                return await call.ResponseAsync.ConfigureAwait(false);
            }
            catch (RpcException e) when (ct.IsCancellationRequested)
            {
                // gRPC reports the caller's own cancellation as CANCELLED;
                // .NET callers expect the usual exception for it.
                throw new OperationCanceledException("the call was cancelled", e, ct);
            }
            catch (RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.Unavailable && attempt < attempts)
            {
                await Task.Delay(Backoff.Delay(attempt), ct).ConfigureAwait(false);
            }
            catch (RpcException e)
            {
                throw LarderException.From(e);
            }
        }
    }

    /// <summary>The deadline of an attempt that starts now and may take <paramref name="timeout"/>; null for none.</summary>
    private static DateTime? Deadline(TimeSpan timeout) => timeout == Timeout.InfiniteTimeSpan ? null : DeadlineAfter(timeout);

    /// <summary>The deadline <paramref name="length"/> from now.</summary>
    internal static DateTime DeadlineAfter(TimeSpan length)
    {
        var now = DateTime.UtcNow;
        // DateTime.MaxValue is gRPC's "no deadline"; adding past it would throw.
        return length >= DateTime.MaxValue - now ? DateTime.MaxValue : now + length;
    }
}

/// <summary>
/// Adds what every call of one cache carries: the namespace and API key
/// headers, and the default deadline when the call sets none. Being on the
/// channel rather than in <see cref="LarderCache.Call{TResponse}"/>, it also
/// serves calls made directly on <see cref="LarderCache.Client"/>.
/// </summary>
internal sealed class CallDefaults(Metadata headers, TimeSpan timeout) : Interceptor
{
    /// <inheritdoc />
    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation) =>
        continuation(request, WithDefaults(context));

    /// <inheritdoc />
    public override TResponse BlockingUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, BlockingUnaryCallContinuation<TRequest, TResponse> continuation) =>
        continuation(request, WithDefaults(context));

    private ClientInterceptorContext<TRequest, TResponse> WithDefaults<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context)
        where TRequest : class
        where TResponse : class
    {
        var options = context.Options;
        if (headers.Count > 0)
        {
            // The caller's own headers first; ours only where the caller set none.
            var merged = new Metadata();
            foreach (var entry in options.Headers ?? [])
            {
                merged.Add(entry);
            }
            foreach (var entry in headers)
            {
                if (merged.Get(entry.Key) is null)
                {
                    merged.Add(entry);
                }
            }
            options = options.WithHeaders(merged);
        }
        if (options.Deadline is null && timeout != Timeout.InfiniteTimeSpan)
        {
            options = options.WithDeadline(LarderCache.DeadlineAfter(timeout));
        }
        return new ClientInterceptorContext<TRequest, TResponse>(context.Method, context.Host, options);
    }
}

/// <summary>The wait between retries.</summary>
internal static class Backoff
{
    private static readonly TimeSpan BaseDelay = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The wait before retry number <paramref name="retry"/> (1-based):
    /// exponential with "equal jitter", so that many function instances that
    /// lost the server at once do not come back in lockstep, while each still
    /// waits at least half the nominal delay.
    /// </summary>
    public static TimeSpan Delay(int retry)
    {
        var nominal = Math.Min(MaxDelay.TotalMilliseconds, BaseDelay.TotalMilliseconds * Math.Pow(2, retry - 1));
        return TimeSpan.FromMilliseconds(nominal / 2 + Random.Shared.NextDouble() * nominal / 2);
    }
}
