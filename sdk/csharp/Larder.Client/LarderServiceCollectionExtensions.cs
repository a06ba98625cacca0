using System.Globalization;
using Larder.Client;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Configuration;

// The namespace of the container itself, as for Microsoft's own AddXxx
// methods, so that apps find these without another using directive.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers Larder in a .NET app's service container:
/// <code>
/// builder.Services.AddLarder(builder.Configuration.GetSection("Larder"));   // or AddLarder(o => o.Url = ...)
/// builder.Services.AddLarderDistributedCache();                            // IDistributedCache, HybridCache's L2
/// </code>
/// </summary>
public static class LarderServiceCollectionExtensions
{
    /// <summary>
    /// Registers one <see cref="LarderCache"/> for the app (a singleton: it is
    /// thread-safe and pools its connections), configured in code. The
    /// options are built when the cache is first resolved. A later AddLarder
    /// call wins over an earlier one.
    /// </summary>
    /// <param name="services">The app's services.</param>
    /// <param name="configure">Sets the options; <see cref="LarderOptions.Url"/> is required.</param>
    /// <returns>The same services, for chaining.</returns>
    public static IServiceCollection AddLarder(this IServiceCollection services, Action<LarderOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        return services.AddSingleton(_ =>
        {
            var options = new LarderOptions();
            configure(options);
            return new LarderCache(options);
        });
    }

    /// <summary>
    /// Registers one <see cref="LarderCache"/> with options read from
    /// configuration, e.g. the section <c>Larder</c> of appsettings.json:
    /// <code>
    /// "Larder": { "Url": "http://larder:8080", "Namespace": "orders", "Timeout": "00:00:05", "Retries": 2 }
    /// </code>
    /// Keys are the names of <see cref="LarderOptions"/>' properties
    /// (ApiKey, ComputeLockWait too); TimeSpans are written as .NET parses
    /// them (<c>"00:00:05"</c>), as Microsoft's configuration binder does.
    /// <paramref name="configure"/> runs afterwards, for what configuration
    /// cannot hold (an HttpClient, JSON options).
    /// </summary>
    /// <param name="services">The app's services.</param>
    /// <param name="configuration">The section holding the options; read when the cache is first resolved.</param>
    /// <param name="configure">Sets further options; null for none.</param>
    /// <returns>The same services, for chaining.</returns>
    public static IServiceCollection AddLarder(this IServiceCollection services, IConfiguration configuration, Action<LarderOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddLarder(options =>
        {
            Bind(configuration, options);
            configure?.Invoke(options);
        });
    }

    /// <summary>
    /// Registers <see cref="IDistributedCache"/> (and <see cref="LarderDistributedCache"/>)
    /// over the <see cref="LarderCache"/> that <see cref="AddLarder(IServiceCollection, Action{LarderOptions})"/>
    /// registered: ASP.NET Core session state, output caching, and
    /// HybridCache, which takes it as its second level. It replaces an
    /// IDistributedCache registered before, as the last registration wins.
    /// </summary>
    /// <param name="services">The app's services.</param>
    /// <returns>The same services, for chaining.</returns>
    public static IServiceCollection AddLarderDistributedCache(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton(provider => new LarderDistributedCache(
            provider.GetService<LarderCache>()
            ?? throw new InvalidOperationException("AddLarderDistributedCache needs a LarderCache: call services.AddLarder(...) as well")));
        return services.AddSingleton<IDistributedCache>(provider => provider.GetRequiredService<LarderDistributedCache>());
    }

    /// <summary>
    /// Copies the options present in <paramref name="configuration"/>, by
    /// hand rather than with Microsoft.Extensions.Configuration.Binder: a handful of
    /// settings do not justify another dependency (and its source generator)
    /// in every app that uses the client.
    /// </summary>
    internal static void Bind(IConfiguration configuration, LarderOptions options)
    {
        options.Url = configuration[nameof(LarderOptions.Url)] ?? options.Url;
        options.ApiKey = configuration[nameof(LarderOptions.ApiKey)] ?? options.ApiKey;
        options.Namespace = configuration[nameof(LarderOptions.Namespace)] ?? options.Namespace;
        options.Timeout = Read(configuration, nameof(LarderOptions.Timeout), options.Timeout, s => TimeSpan.Parse(s, CultureInfo.InvariantCulture));
        options.ComputeLockWait = Read(configuration, nameof(LarderOptions.ComputeLockWait), options.ComputeLockWait, s => TimeSpan.Parse(s, CultureInfo.InvariantCulture));
        options.Retries = Read(configuration, nameof(LarderOptions.Retries), options.Retries, s => int.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture));
#pragma warning disable CS0618 // Still read, so that configuration naming it stays valid.
        options.Http2 = Read(configuration, nameof(LarderOptions.Http2), options.Http2, bool.Parse);
#pragma warning restore CS0618
    }

    private static T Read<T>(IConfiguration configuration, string key, T fallback, Func<string, T> parse)
    {
        var text = configuration[key];
        if (string.IsNullOrEmpty(text))
        {
            return fallback;
        }
        try
        {
            return parse(text);
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            // The full path (Larder:Timeout) tells which file entry to fix.
            var path = configuration is IConfigurationSection section ? $"{section.Path}:{key}" : key;
            throw new InvalidOperationException($"{path}: \"{text}\" is not a valid {typeof(T).Name}", e);
        }
    }
}
