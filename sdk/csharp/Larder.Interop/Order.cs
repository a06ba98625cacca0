using System.Text.Json.Serialization;

namespace Larder.Interop;

/// <summary>
/// The typed object of the round trip; the TypeScript, Python and Go helpers
/// define the same shape. Unknown JSON members are refused and every member
/// is required, so a field that one language adds or drops fails the read.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record Order(
    [property: JsonRequired] string Id,
    [property: JsonRequired] Customer Customer,
    [property: JsonRequired] IReadOnlyList<Item> Items,
    [property: JsonRequired] decimal Total,
    [property: JsonRequired] bool Paid,
    [property: JsonRequired] IReadOnlyList<string> Tags)
{
    /// <summary>The Order every language writes and expects.</summary>
    public static Order Canonical { get; } = new(
        "order-7",
        new Customer("Ada Lovelace", "ada@example.com"),
        [new Item("A-1", 2, 9.75m)],
        19.5m,
        true,
        ["vip", "ü😀"]);

    /// <summary>Records compare lists by reference; the round trip needs their content.</summary>
    public bool Equals(Order? other) =>
        other is not null && Id == other.Id && Customer == other.Customer && Items.SequenceEqual(other.Items)
        && Total == other.Total && Paid == other.Paid && Tags.SequenceEqual(other.Tags);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Id, Customer, Total, Paid);
}

/// <summary>Who placed the Order.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record Customer([property: JsonRequired] string Name, [property: JsonRequired] string Email);

/// <summary>One line of an Order.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record Item([property: JsonRequired] string Sku, [property: JsonRequired] int Qty, [property: JsonRequired] decimal Price);
