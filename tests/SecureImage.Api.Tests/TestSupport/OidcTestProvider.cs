using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace SecureImage.Api.Tests.TestSupport;

/// <summary>
/// A real OpenID Connect provider (npm oidc-provider 8.x, infra/local/oidc-provider.mjs, installed by infra/local's
/// `npm ci`) on a free 127.0.0.1 port, with one client whose redirect URI is the service's callback and the users
/// <c>viewer</c>, <c>operator</c> and <c>norole</c>. Stopped by the PID this class started.
/// </summary>
internal sealed class OidcTestProvider : IDisposable
{
    private readonly Process _process;

    private OidcTestProvider(Process process, Uri issuer, string clientId, string clientSecret)
    {
        _process = process;
        Issuer = issuer;
        ClientId = clientId;
        ClientSecret = clientSecret;
    }

    public Uri Issuer { get; }

    public string ClientId { get; }

    public string ClientSecret { get; }

    public static async Task<OidcTestProvider> StartAsync(Uri redirectUri)
    {
        var script = Path.Combine(Corpus.RepositoryRoot, "infra", "local", "oidc-provider.mjs");
        Assert.True(File.Exists(Path.Combine(Corpus.RepositoryRoot, "node_modules", "oidc-provider", "package.json")), "oidc-provider is not installed: run `npm ci` in the repository root (infra/local/test.sh and with-servers.sh do).");
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = Corpus.RepositoryRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(redirectUri.ToString());
        var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start.");
        _ = process.StandardError.ReadToEndAsync();
        var line = await process.StandardOutput.ReadLineAsync(TestTimeout.After(TimeSpan.FromSeconds(30)));
        if (line is null)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException("oidc-provider exited before it listened.");
        }

        var ready = JsonDocument.Parse(line).RootElement;
        return new OidcTestProvider(process, new Uri(ready.GetProperty("issuer").GetString()!), ready.GetProperty("clientId").GetString()!, ready.GetProperty("clientSecret").GetString()!);
    }

    /// <summary>Changes <paramref name="user"/>'s roles at the provider, as its administrator would.</summary>
    public async Task SetRolesAsync(string user, params string[] roles)
    {
        using var http = new HttpClient { BaseAddress = Issuer };
        var response = await http.PutAsync($"/test/roles/{user}", new StringContent(JsonSerializer.Serialize(roles)));
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    /// <summary>Stops the provider (an outage); <see cref="Dispose"/> after this is a no-op.</summary>
    public void Stop()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
    }

    /// <summary>A free loopback port for the service, chosen before it starts (the provider must know the redirect URI first).</summary>
    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>The service's settings for this provider.</summary>
    public Dictionary<string, string?> Settings() => new()
    {
        ["SecureImage:Admin:Oidc:Authority"] = Issuer.ToString(),
        ["SecureImage:Admin:Oidc:ClientId"] = ClientId,
        ["SecureImage:Admin:Oidc:ClientSecret"] = ClientSecret,
        ["SecureImage:Admin:Oidc:DisplayName"] = "the test provider",
    };

    public void Dispose()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
    }
}
