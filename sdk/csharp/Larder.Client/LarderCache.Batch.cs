using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Larder.V1;

namespace Larder.Client;

public sealed partial class LarderCache
{
    /// <summary>The most keys one request may carry (the server's default batch limit).</summary>
    internal const int MaxBatch = 1000;

    /// <summary>
    /// Lists every key matching a glob (<c>*</c>, <c>?</c>, <c>[a-z]</c>,
    /// <c>\</c> escapes), following all pages. For large namespaces prefer
    /// <see cref="IterateKeys"/>, which does not hold every key in memory.
    /// </summary>
    /// <param name="pattern">The glob; null or empty for all keys.</param>
    /// <param name="ct">Cancels the listing.</param>
    /// <returns>The keys, without duplicates, in no particular order.</returns>
    public async Task<IReadOnlyList<string>> GetKeys(string? pattern = null, CancellationToken ct = default)
    {
        // A set because the listing promises "at least once", not "once".
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var keys = new List<string>();
        await foreach (var key in IterateKeys(pattern, MaxBatch, ct).ConfigureAwait(false))
        {
            if (seen.Add(key))
            {
                keys.Add(key);
            }
        }
        return keys;
    }

    /// <summary>
    /// Lists keys matching a glob lazily, fetching the next page only when the
    /// previous one has been consumed. A key present during the whole listing
    /// is yielded at least once; one written meanwhile may be yielded twice.
    /// </summary>
    /// <param name="pattern">The glob; null or empty for all keys.</param>
    /// <param name="pageSize">Keys per round trip, 1 to 1000; 0 for the server's default (100).</param>
    /// <param name="ct">Cancels the listing.</param>
    public async IAsyncEnumerable<string> IterateKeys(string? pattern = null, int pageSize = 0, [EnumeratorCancellation] CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pageSize);
        var cursor = "";
        do
        {
            var request = new KeysRequest { Pattern = pattern ?? "", Cursor = cursor, Limit = pageSize };
            var page = await Call(true, (c, o) => c.KeysAsync(request, o), ct).ConfigureAwait(false);
            foreach (var key in page.Keys)
            {
                yield return key;
            }
            cursor = page.NextCursor;
        }
        while (cursor.Length > 0);
    }

    /// <summary>
    /// Reads many keys (any number; sent in batches of 1000).
    /// </summary>
    /// <typeparam name="T">The type to read every value as.</typeparam>
    /// <param name="keys">The keys.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>
    /// A dictionary that enumerates in request order, with default (null) for
    /// each miss. A key given twice appears once, at its first position.
    /// </returns>
    public async Task<IReadOnlyDictionary<string, T?>> GetMany<T>(IEnumerable<string> keys, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var list = keys.ToList();
        var result = new OrderedResult<T?>(list.Count);
        foreach (var chunk in list.Chunk(MaxBatch))
        {
            var request = new GetManyRequest { Keys = { chunk } };
            var res = await Call(true, (c, o) => c.GetManyAsync(request, o), ct).ConfigureAwait(false);
            // Keyed by the request, not by the items' keys, so that the
            // order is the caller's whatever the server echoes.
            for (var i = 0; i < chunk.Length; i++)
            {
                var item = i < res.Items.Count ? res.Items[i] : null;
                result.TryAdd(chunk[i], item is { Found: true } ? ValueCodec.Decode<T>(item.Value, _json, chunk[i]) : default);
            }
        }
        return result;
    }

    /// <summary>
    /// Writes many keys unconditionally, with one TTL for all (any number;
    /// sent in batches of 1000, each applied by the server as one call).
    /// Retried on Unavailable like an unconditional <c>Set</c>.
    /// </summary>
    /// <typeparam name="T">The values' type.</typeparam>
    /// <param name="entries">Keys and values, e.g. a dictionary.</param>
    /// <param name="ttl">Time to live of every entry; null for the namespace default.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>One result per entry, in order.</returns>
    public Task<IReadOnlyList<WriteResult>> SetMany<T>(IEnumerable<KeyValuePair<string, T>> entries, TimeSpan? ttl = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        // Encoded as T, not as object, so that T's JSON contract applies as in Set<T>.
        var encoded = entries.Select((e, i) => Entry(e.Key, ValueCodec.Encode(e.Value, _json, $"entries[{i}].value"), ttl, false, i)).ToList();
        return WriteMany(encoded, ct);
    }

    /// <summary>Writes many keys with one TTL in seconds; see <see cref="SetMany{T}(IEnumerable{KeyValuePair{string, T}}, TimeSpan?, CancellationToken)"/>.</summary>
    /// <typeparam name="T">The values' type.</typeparam>
    /// <param name="entries">Keys and values.</param>
    /// <param name="ttlSeconds">Seconds to live of every entry.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>One result per entry, in order.</returns>
    public Task<IReadOnlyList<WriteResult>> SetMany<T>(IEnumerable<KeyValuePair<string, T>> entries, double ttlSeconds, CancellationToken ct = default) =>
        SetMany(entries, ValueCodec.Seconds(ttlSeconds, "ttl"), ct);

    /// <summary>
    /// Writes many keys unconditionally, each with its own TTL (any number;
    /// sent in batches of 1000). Retried on Unavailable: a repeat writes the
    /// same values, though <see cref="WriteResult.Created"/> may then say false.
    /// </summary>
    /// <param name="items">The entries.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>One result per entry, in order.</returns>
    public async Task<IReadOnlyList<WriteResult>> SetMany(IEnumerable<SetManyItem> items, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        var encoded = items.Select((item, i) =>
        {
            ArgumentNullException.ThrowIfNull(item);
            return Entry(item.Key, ValueCodec.Encode(item.Value, _json, $"entries[{i}].value"), item.Ttl, item.NoExpiry, i);
        }).ToList();
        return await WriteMany(encoded, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends encoded entries in batches. They are all encoded before the
    /// first batch goes out, so that a bad value fails before anything is written.
    /// </summary>
    private async Task<IReadOnlyList<WriteResult>> WriteMany(List<SetManyEntry> encoded, CancellationToken ct)
    {
        var results = new List<WriteResult>(encoded.Count);
        foreach (var chunk in encoded.Chunk(MaxBatch))
        {
            var request = new SetManyRequest { Entries = { chunk } };
            var res = await Call(true, (c, o) => c.SetManyAsync(request, o), ct).ConfigureAwait(false);
            results.AddRange(res.Results.Select(r => new WriteResult(r.Key, r.Created, r.Version)));
        }
        return results;
    }

    private static SetManyEntry Entry(string key, Value value, TimeSpan? ttl, bool noExpiry, int index)
    {
        ArgumentNullException.ThrowIfNull(key);
        var entry = new SetManyEntry { Key = key, Value = value };
        if (noExpiry && ttl is not null)
        {
            throw LarderException.InvalidArgument($"entries[{index}]", "give either Ttl or NoExpiry, not both");
        }
        if (noExpiry)
        {
            entry.NoExpiry = true;
        }
        else if (ttl is { } t)
        {
            entry.TtlMs = ValueCodec.Milliseconds(t);
        }
        return entry;
    }

    /// <summary>Removes many keys (any number; sent in batches of 1000).</summary>
    /// <param name="keys">The keys.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>How many of them existed.</returns>
    public async Task<long> DeleteMany(IEnumerable<string> keys, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        long deleted = 0;
        foreach (var chunk in keys.Chunk(MaxBatch))
        {
            // Retrying is safe for the state; only the count can come out low
            // if a retried batch had in fact been applied.
            var request = new DeleteRequest { Keys = { chunk } };
            var res = await Call(true, (c, o) => c.DeleteAsync(request, o), ct).ConfigureAwait(false);
            deleted += res.Deleted;
        }
        return deleted;
    }

    /// <summary>A read-only dictionary that enumerates in insertion order.</summary>
    private sealed class OrderedResult<TValue>(int capacity) : IReadOnlyDictionary<string, TValue>
    {
        private readonly Dictionary<string, TValue> _map = new(capacity, StringComparer.Ordinal);
        private readonly List<string> _order = new(capacity);

        public void TryAdd(string key, TValue value)
        {
            if (_map.TryAdd(key, value))
            {
                _order.Add(key);
            }
        }

        public TValue this[string key] => _map[key];

        public IEnumerable<string> Keys => _order;

        public IEnumerable<TValue> Values => _order.Select(k => _map[k]);

        public int Count => _order.Count;

        public bool ContainsKey(string key) => _map.ContainsKey(key);

        public bool TryGetValue(string key, [MaybeNullWhen(false)] out TValue value) => _map.TryGetValue(key, out value);

        public IEnumerator<KeyValuePair<string, TValue>> GetEnumerator() =>
            _order.Select(k => new KeyValuePair<string, TValue>(k, _map[k])).GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
