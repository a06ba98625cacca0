using System.Text.Json;

namespace Larder.Client.Tests.Fixtures;

/// <summary>
/// A Larder server started with a config file of its own, next to a local
/// <see cref="Upstream"/> for its commands: both are removed with the server.
/// </summary>
public abstract class ConfiguredFixture : LarderFixture
{
    private Upstream? _upstream;
    private string? _configDir;

    internal Upstream Upstream => _upstream ?? throw new InvalidOperationException("upstream not started");

    /// <summary>Starts the local upstream that the config's commands call.</summary>
    private protected Upstream StartUpstream() => _upstream = Upstream.Start();

    /// <summary>Writes <paramref name="config"/> as larder.json in a temporary folder named after <paramref name="prefix"/>; returns its path.</summary>
    protected async Task<string> WriteConfig(string prefix, object config)
    {
        _configDir = Directory.CreateTempSubdirectory(prefix).FullName;
        var file = Path.Combine(_configDir, "larder.json");
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(config));
        return file;
    }

    /// <inheritdoc />
    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_upstream is not null)
        {
            await _upstream.DisposeAsync();
        }
        if (_configDir is not null)
        {
            Directory.Delete(_configDir, recursive: true);
        }
    }
}
