namespace Larder.Client;

/// <summary>A stored value with its metadata, as returned by <see cref="LarderCache.GetEntry{T}(string, CancellationToken)"/>.</summary>
/// <typeparam name="T">The value's type.</typeparam>
/// <param name="Value">The value, decoded as <see cref="LarderCache.Get{T}(string, CancellationToken)"/> would return it.</param>
/// <param name="Version">Rises on every write; pass it to <see cref="SetOptions.IfVersion"/> for compare-and-set.</param>
/// <param name="CreatedAt">When the key was first written (since it last did not exist).</param>
/// <param name="UpdatedAt">When the entry was last written.</param>
/// <param name="ExpiresAt">When the entry expires; null when it never does.</param>
/// <param name="LastReadAt">When the entry was last read; null if never.</param>
public sealed record CacheEntry<T>(
    T Value,
    long Version,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? LastReadAt);

/// <summary>
/// Options of a write. At most one condition (<see cref="OnlyIfAbsent"/>,
/// <see cref="OnlyIfPresent"/>, <see cref="IfVersion"/>) may be given.
/// Conditional writes are never retried: if the first attempt reached the
/// server, a retry could report "not applied" for a write that happened.
/// </summary>
public readonly record struct SetOptions
{
    /// <summary>Time to live (millisecond precision). Null: the namespace default, 3600 s unless configured.</summary>
    public TimeSpan? Ttl { get; init; }

    /// <summary>Keep the entry until deleted; a namespace policy may forbid it. Excludes <see cref="Ttl"/>.</summary>
    public bool NoExpiry { get; init; }

    /// <summary>Write only if the key does not exist.</summary>
    public bool OnlyIfAbsent { get; init; }

    /// <summary>Write only if the key exists.</summary>
    public bool OnlyIfPresent { get; init; }

    /// <summary>Write only if the key exists with this version (compare-and-set).</summary>
    public long? IfVersion { get; init; }

    /// <summary>
    /// Write only while this lock is held by this handle (fencing): a holder
    /// whose lock expired and went to another gets false, checked by the
    /// server in the same atomic step as the write. Combines with the other
    /// conditions. Needs only the "write" permission.
    /// </summary>
    public LarderLock? Lock { get; init; }
}

/// <summary>One entry of <see cref="LarderCache.SetMany(IEnumerable{SetManyItem}, CancellationToken)"/>, written unconditionally.</summary>
/// <param name="Key">The key.</param>
/// <param name="Value">Anything System.Text.Json can write (by its runtime type), or a byte[].</param>
public sealed record SetManyItem(string Key, object? Value)
{
    /// <summary>Time to live. Null: the namespace default.</summary>
    public TimeSpan? Ttl { get; init; }

    /// <summary>Keep the entry until deleted. Excludes <see cref="Ttl"/>.</summary>
    public bool NoExpiry { get; init; }
}

/// <summary>The outcome of one write of <see cref="LarderCache.SetMany(IEnumerable{SetManyItem}, CancellationToken)"/>.</summary>
/// <param name="Key">The key.</param>
/// <param name="Created">Whether the write created the key (false: it replaced a value).</param>
/// <param name="Version">The entry's new version, for a later compare-and-set (<see cref="SetOptions.IfVersion"/>).</param>
public sealed record WriteResult(string Key, bool Created, long Version);
