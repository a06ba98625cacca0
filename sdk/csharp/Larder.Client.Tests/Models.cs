namespace Larder.Client.Tests;

/// <summary>The seed's UserProfile, as a C# record.</summary>
public sealed record UserProfile(string Name, string Plan, DateTimeOffset CreatedAt);

/// <summary>The seed's voice session state, with a nested list and object.</summary>
public sealed record Session(string CallerNumber, long StartTime, IReadOnlyList<string> Tags, Address? Address)
{
    /// <summary>Records compare lists by reference; tests need content.</summary>
    public bool Equals(Session? other) =>
        other is not null && CallerNumber == other.CallerNumber && StartTime == other.StartTime
        && Tags.SequenceEqual(other.Tags) && Address == other.Address;

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(CallerNumber, StartTime, Address);
}

/// <summary>A nested object.</summary>
public sealed record Address(string City, string? Zip);
