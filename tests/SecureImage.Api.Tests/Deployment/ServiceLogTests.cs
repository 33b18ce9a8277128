using System.Net;
using System.Net.Sockets;
using System.Text;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests.Deployment;

/// <summary>
/// What the service prints when started as the README says (<c>dotnet run</c> from the repository root):
/// no request URL with its query reaches the log at any level, whatever the logging configuration, and the
/// Development log stays readable.
/// </summary>
public sealed class ServiceLogTests
{
    private const string DevBotKey = "dev-bot-key";

    [Fact]
    public async Task Signed_links_never_reach_the_log_even_with_every_category_at_trace()
    {
        // Every way configuration can raise a level: the default, provider-specific rules, and the framework's own categories.
        var environment = new Dictionary<string, string>
        {
            ["Logging__LogLevel__Default"] = "Trace",
            ["Logging__Console__LogLevel__Default"] = "Trace",
            ["Logging__LogLevel__Microsoft"] = "Trace",
            ["Logging__LogLevel__Microsoft.AspNetCore"] = "Trace",
            ["Logging__Console__LogLevel__Microsoft.AspNetCore"] = "Trace",
            ["Logging__Console__LogLevel__Microsoft.AspNetCore.Hosting.Diagnostics"] = "Trace",
            ["Logging__Console__LogLevel__Microsoft.AspNetCore.HttpLogging"] = "Trace",
            ["Logging__Console__LogLevel__Microsoft.AspNetCore.Server.Kestrel"] = "Trace",
            ["Logging__Console__LogLevel__Microsoft.AspNetCore.Routing"] = "Trace",
            ["Logging__LogLevel__System.Net.Http.HttpClient"] = "Trace",
            ["Logging__Console__FormatterName"] = "json",
            ["Logging__Console__FormatterOptions__IncludeScopes"] = "true",
        };
        await using var run = await RepositoryRootRun.StartAsync(environment);
        using var client = run.CreateClient(DevBotKey);
        using var anonymous = run.CreateClient();

        var uploaded = await client.UploadOkAsync(await client.CreateConsentAsync(), Corpus.Read("jpg_gps_DSCN0010.jpg"));
        var link = new Uri(uploaded.Link.Url);
        var signature = Query(link, "sig");
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(link.PathAndQuery)).StatusCode);

        // A forged signature, a link to an unknown route, and a request target Kestrel itself rejects.
        const string Forged = "Zm9yZ2VkLXNpZ25hdHVyZS1mb3ItdGhlLWxvZy10ZXN0";
        Assert.Equal(HttpStatusCode.Forbidden, (await anonymous.GetAsync($"{link.AbsolutePath}?exp={Query(link, "exp")}&kid={Query(link, "kid")}&sig={Forged}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync($"/v1/no-such-route?sig={Forged}")).StatusCode);
        await SendRawAsync(run.BaseAddress, $"GET {link.AbsolutePath}?sig={Forged}\0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");

        var output = await run.StopAsync();

        // Proof that the configuration reached the logger: the host's own Debug line is there.
        Assert.Contains("Hosting starting", output, StringComparison.Ordinal);
        Assert.DoesNotContain(signature, output, StringComparison.Ordinal);
        Assert.DoesNotContain(Forged, output, StringComparison.Ordinal);
        Assert.DoesNotContain("sig=", output, StringComparison.Ordinal);
        Assert.DoesNotContain("sig\\u003D", output, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_development_log_reads_appsettings_from_the_app_folder_and_has_no_authorization_blocks_for_a_401()
    {
        Assert.True(File.Exists(Path.Combine(RepositoryRootRun.ApiOutputFolder, "appsettings.json")), "appsettings.json is not in the API's build output.");
        await using var run = await RepositoryRootRun.StartAsync(new Dictionary<string, string>());
        using var anonymous = run.CreateClient();

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"/v1/images/{Guid.NewGuid()}")).StatusCode);
        using var wrongKey = run.CreateClient("not-a-bot-key");
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrongKey.GetAsync($"/v1/images/{Guid.NewGuid()}")).StatusCode);

        var output = await run.StopAsync();

        Assert.Contains("Hosting environment: Development", output, StringComparison.Ordinal);
        Assert.Contains($"Content root path: {RepositoryRootRun.ApiOutputFolder}", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Authorization failed", output, StringComparison.Ordinal);
        Assert.DoesNotContain("was challenged", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Request starting", output, StringComparison.Ordinal);
    }

    private static string Query(Uri link, string name) =>
        link.Query.TrimStart('?').Split('&').Select(p => p.Split('=', 2)).Single(p => p[0] == name)[1];

    /// <summary>Writes a raw request (one Kestrel refuses as malformed) and reads whatever comes back.</summary>
    private static async Task SendRawAsync(Uri baseAddress, string request)
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync(baseAddress.Host, baseAddress.Port);
        var stream = socket.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request));
        var answer = new byte[4096];
        var read = await stream.ReadAsync(answer).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.StartsWith("HTTP/1.1 400", Encoding.Latin1.GetString(answer, 0, read), StringComparison.Ordinal);
    }
}
