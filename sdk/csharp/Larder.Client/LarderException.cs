using Grpc.Core;

namespace Larder.Client;

/// <summary>
/// The status code of a failed call. The values and names mirror gRPC's
/// (<c>Grpc.Core.StatusCode</c>), so code written against a gRPC client reads
/// the same.
/// </summary>
public enum StatusCode
{
    /// <summary>Not an error; never carried by a <see cref="LarderException"/>.</summary>
    OK = 0,
    /// <summary>The call was cancelled.</summary>
    Cancelled = 1,
    /// <summary>An error without a more specific code.</summary>
    Unknown = 2,
    /// <summary>A malformed argument, or one over a configured limit; the message names it.</summary>
    InvalidArgument = 3,
    /// <summary>The deadline (<see cref="LarderOptions.Timeout"/>) passed before the server answered.</summary>
    DeadlineExceeded = 4,
    /// <summary>Not found. Cache misses are not errors and never use this.</summary>
    NotFound = 5,
    /// <summary>Already exists.</summary>
    AlreadyExists = 6,
    /// <summary>The API key lacks the permission, or names another namespace.</summary>
    PermissionDenied = 7,
    /// <summary>A quota ran out.</summary>
    ResourceExhausted = 8,
    /// <summary>The stored state forbids the call, e.g. Increment on a value that is not an integer.</summary>
    FailedPrecondition = 9,
    /// <summary>Aborted.</summary>
    Aborted = 10,
    /// <summary>A result would leave its range, e.g. Increment past the 64-bit range.</summary>
    OutOfRange = 11,
    /// <summary>An RPC this server version does not serve yet.</summary>
    Unimplemented = 12,
    /// <summary>A server bug; the message carries a request id to find it in the server log.</summary>
    Internal = 13,
    /// <summary>The server or its store cannot be reached; safe to retry.</summary>
    Unavailable = 14,
    /// <summary>Stored data is corrupt.</summary>
    DataLoss = 15,
    /// <summary>The server requires an API key and got none, or an unknown one.</summary>
    Unauthenticated = 16,
}

/// <summary>
/// Every failure of a Larder call, whether the server refused it or the
/// client did before sending. A cache miss is never an exception.
/// </summary>
public class LarderException : Exception
{
    /// <summary>Creates an exception.</summary>
    /// <param name="statusCode">The status code.</param>
    /// <param name="message">What went wrong; for server errors the server's message, which names the field at fault.</param>
    /// <param name="innerException">The underlying failure, if any.</param>
    public LarderException(StatusCode statusCode, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        StatusCode = statusCode;
    }

    /// <summary>The status code, e.g. <see cref="StatusCode.InvalidArgument"/>.</summary>
    public StatusCode StatusCode { get; }

    /// <summary>
    /// The code's canonical gRPC name, e.g. <c>INVALID_ARGUMENT</c>: the
    /// spelling of grpcurl, the server log and the other Larder SDKs.
    /// </summary>
    public string CodeName => StatusCode == StatusCode.OK ? "OK" : UpperSnake(StatusCode.ToString());

    /// <inheritdoc />
    public override string ToString() => $"{GetType().FullName} ({CodeName}): {base.ToString()}";

    /// <summary>
    /// Converts the gRPC client's error, keeping it as the inner exception.
    /// The message is the status detail alone (the server's "field: problem"),
    /// not RpcException's "Status(StatusCode=..., Detail=...)" wrapping.
    /// </summary>
    internal static LarderException From(RpcException e) =>
        new(FailedHandshake(e) ? StatusCode.Unavailable : (StatusCode)(int)e.StatusCode,
            string.IsNullOrEmpty(e.Status.Detail) ? e.Message : e.Status.Detail, e);

    /// <summary>
    /// Whether the call failed in the TLS handshake (a server certificate
    /// not trusted, a client certificate refused). Grpc.Net.Client reports
    /// that as Internal; it is Unavailable, as in the other SDKs and in
    /// gRPC's other clients: the server could not be reached securely.
    /// </summary>
    private static bool FailedHandshake(RpcException e)
    {
        for (Exception? cause = e.Status.DebugException; cause is not null; cause = cause.InnerException)
        {
            if (cause is System.Security.Authentication.AuthenticationException)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>"InvalidArgument" as "INVALID_ARGUMENT".</summary>
    private static string UpperSnake(string pascal) =>
        string.Concat(pascal.Select((c, i) => i > 0 && char.IsUpper(c) ? $"_{c}" : char.ToUpperInvariant(c).ToString()));

    /// <summary>A local INVALID_ARGUMENT, worded like the server's ("field: problem").</summary>
    internal static LarderException InvalidArgument(string field, string problem) =>
        new(StatusCode.InvalidArgument, $"{field}: {problem}");
}

/// <summary>
/// Thrown by <see cref="LarderCache.Lock"/> (and a stampede-safe
/// <c>GetOrSet</c>) when the lock stayed busy for the whole wait. Its code is
/// <see cref="StatusCode.Aborted"/>, gRPC's code for a concurrency conflict
/// that the caller may retry at a higher level: it is neither retried
/// automatically (like Unavailable) nor mistaken for a deadline of the call.
/// </summary>
public sealed class LarderLockNotAcquiredException : LarderException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="lockName">The lock's name.</param>
    /// <param name="holder">Who held it when the wait ended; null if it freed just then.</param>
    /// <param name="message">What the caller was doing; null for a message naming the lock and holder.</param>
    public LarderLockNotAcquiredException(string lockName, LockHolderInfo? holder, string? message = null)
        : base(StatusCode.Aborted, message ?? $"lock: \"{lockName}\" was not acquired within the wait{Describe(holder)}")
    {
        LockName = lockName;
        Holder = holder;
    }

    /// <summary>The lock's name.</summary>
    public string LockName { get; }

    /// <summary>Who held the lock when the wait ended (owner label, expiry, fencing token); null if unknown.</summary>
    public LockHolderInfo? Holder { get; }

    internal static string Describe(LockHolderInfo? holder) => holder is null
        ? ""
        : $" (held by \"{holder.Owner}\" until {holder.ExpiresAt.UtcDateTime:O})";
}
