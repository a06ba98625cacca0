// The C# side of the cross-language round trips (test/interop/matrix.test.ts):
// one cache operation through Larder.Client, so that what one SDK writes is
// proven readable by another through a real server.
//
//   dotnet Larder.Interop.dll set-order    <url> <namespace> <key>
//   dotnet Larder.Interop.dll expect-order <url> <namespace> <key>
//
// set-order writes the canonical Order; expect-order reads the key into an
// Order and exits 1 unless it equals the canonical one.
using System.Text.Json;
using Larder.Client;
using Larder.Interop;

if (args.Length != 4)
{
    await Console.Error.WriteLineAsync("usage: Larder.Interop set-order|expect-order <url> <namespace> <key>");
    return 2;
}
var (command, url, ns, key) = (args[0], args[1], args[2], args[3]);
using var cache = new LarderCache(new LarderOptions { Url = url, Namespace = ns });
switch (command)
{
    case "set-order":
        await cache.Set(key, Order.Canonical, TimeSpan.FromMinutes(1));
        return 0;
    case "expect-order":
        Order? got;
        try
        {
            got = await cache.Get<Order>(key);
        }
        catch (LarderException e) when (e.InnerException is JsonException)
        {
            // An extra, missing or mistyped field: the shapes drifted apart.
            await Console.Error.WriteLineAsync($"not an Order: {e.Message}");
            return 1;
        }
        if (got != Order.Canonical)
        {
            await Console.Error.WriteLineAsync($"got  {Describe(got)}\nwant {Describe(Order.Canonical)}");
            return 1;
        }
        return 0;
    default:
        await Console.Error.WriteLineAsync($"unknown command {command}");
        return 2;
}

static string Describe(Order? o) => o is null ? "a miss" : JsonSerializer.Serialize(o);
