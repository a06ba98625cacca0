using System.Text.Json;
using Google.Protobuf;
using Larder.V1;

namespace Larder.Client;

/// <summary>
/// Conversions between what callers hold (C# values, TimeSpans) and what
/// travels on the wire (Value messages, milliseconds).
/// </summary>
internal static class ValueCodec
{
    /// <summary>
    /// A byte[] travels as opaque binary (as a TypeScript Uint8Array does);
    /// anything else as JSON text, which other SDKs and humans can read.
    /// </summary>
    public static Value Encode<T>(T value, JsonSerializerOptions json, string field)
    {
        if (value is byte[] bytes)
        {
            return new Value { Binary = ByteString.CopyFrom(bytes) };
        }
        try
        {
            return new Value { Json = JsonSerializer.Serialize(value, json) };
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
        {
            throw new LarderException(StatusCode.InvalidArgument, $"{field}: cannot be serialized as JSON: {e.Message}", e);
        }
    }

    /// <summary>Decodes a found value as <typeparamref name="T"/>.</summary>
    public static T? Decode<T>(Value? value, JsonSerializerOptions json, string key)
    {
        switch (value?.KindCase)
        {
            case Value.KindOneofCase.Binary:
                if (typeof(T) == typeof(byte[]) || typeof(T) == typeof(object))
                {
                    return (T)(object)value.Binary.ToByteArray();
                }
                throw new LarderException(StatusCode.FailedPrecondition,
                    $"value of \"{key}\": is binary; read it as byte[], not {typeof(T).Name}");
            case Value.KindOneofCase.Json:
                try
                {
                    return JsonSerializer.Deserialize<T>(value.Json, json);
                }
                catch (JsonException e)
                {
                    // The stored JSON is valid (the server checks it on write),
                    // it just does not fit the type the caller asked for.
                    throw new LarderException(StatusCode.FailedPrecondition,
                        $"value of \"{key}\": cannot be read as {typeof(T).Name}: {e.Message}", e);
                }
            default:
                throw new LarderException(StatusCode.Internal, $"value of \"{key}\": the server returned an entry without a value");
        }
    }

    /// <summary>An entry's wire form as a <see cref="CacheEntry{T}"/>.</summary>
    public static CacheEntry<T> Entry<T>(Value? value, EntryMetadata? meta, JsonSerializerOptions json, string key) => new(
        // A stored JSON null is a legitimate value, hence the null-forgiving.
        Decode<T>(value, json, key)!,
        meta?.Version ?? 0,
        meta?.CreatedAt?.ToDateTimeOffset() ?? DateTimeOffset.UnixEpoch,
        meta?.UpdatedAt?.ToDateTimeOffset() ?? DateTimeOffset.UnixEpoch,
        meta?.ExpiresAt?.ToDateTimeOffset(),
        meta?.LastReadAt?.ToDateTimeOffset());

    /// <summary>
    /// A TTL in whole milliseconds. A positive TTL below half a millisecond
    /// becomes 1 rather than 0, which the server would reject although the
    /// caller asked for "very short"; zero and negative TTLs go to the
    /// server as they are, so that its message (naming the limit) applies.
    /// </summary>
    public static long Milliseconds(TimeSpan ttl)
    {
        var ms = Math.Round(ttl.TotalMilliseconds, MidpointRounding.AwayFromZero);
        return ttl > TimeSpan.Zero ? Math.Max(1L, (long)ms) : (long)ms;
    }

    /// <summary>A TTL given in seconds; NaN and infinities cannot be sent at all.</summary>
    public static TimeSpan Seconds(double seconds, string field)
    {
        if (!double.IsFinite(seconds) || Math.Abs(seconds) > TimeSpan.MaxValue.TotalSeconds)
        {
            throw LarderException.InvalidArgument(field, $"must be a finite number of seconds, got {seconds}");
        }
        return TimeSpan.FromTicks((long)(seconds * TimeSpan.TicksPerSecond));
    }
}
