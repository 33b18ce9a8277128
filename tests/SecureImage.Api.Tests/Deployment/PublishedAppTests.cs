using System.Diagnostics;
using System.Net;
using System.Text.Json;
using SecureImage.Api.Configuration;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests.Deployment;

/// <summary>
/// The published app (what the container runs) from its publish folder, Production environment,
/// against PostgreSQL and Azurite, with keys from a key file, as compose.yaml configures it.
/// </summary>
public sealed class PublishedAppTests(PublishedApp app) : IClassFixture<PublishedApp>
{
    private const string BotKey = "published-bot-key";

    [Fact]
    public async Task The_published_app_starts_in_production_with_postgres_azurite_and_a_key_file_and_serves_an_image()
    {
        await using var database = await PostgresTestDatabase.CreateAsync();
        using var work = new TempFolder();
        var keyFile = Path.Combine(work.Path, "secrets", "keys.json");
        KeyMaterial.WriteKeyFile(keyFile, KeyMaterial.Generate());
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        }
        var port = PublishedApp.FreePort();
        var environment = ProductionEnvironment(port, database.ConnectionString, keyFile);

        using var process = app.Start(environment, work.Path);
        var output = PublishedApp.Capture(process);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
            await WaitUntilReadyAsync(http, process, output);
            http.DefaultRequestHeaders.Add("X-Api-Key", BotKey);

            var original = Corpus.Read("jpg_gps_DSCN0010.jpg");
            var consentId = await http.CreateConsentAsync();
            var uploaded = await http.UploadOkAsync(consentId, original);
            using var anonymous = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            var download = await anonymous.GetAsync(new Uri(uploaded.Link.Url));

            Assert.Equal(HttpStatusCode.OK, download.StatusCode);
            Assert.Equal(await Corpus.SanitizedAsync(original), await download.Content.ReadAsByteArrayAsync());
            Assert.Equal(1L, (long)(await database.ScalarAsync($"SELECT COUNT(*) FROM images WHERE id = '{uploaded.Id}' AND wrapped_key IS NOT NULL;"))!);
        }
        finally
        {
            await PublishedApp.StopAsync(process);
        }
    }

    [Theory]
    [InlineData("no-file", "SecureImage:Keys:File")]
    [InlineData("no-kek", "SecureImage:Keys:Kek")]
    [InlineData("no-links", "SecureImage:Keys:Links")]
    [InlineData("no-subject-hash-key", "SecureImage:Keys:SubjectHashKey")]
    [InlineData("no-keys-setting", "No keys are configured")]
    public async Task The_published_app_refuses_to_start_when_the_key_file_or_a_required_key_is_missing(string missing, string named)
    {
        using var work = new TempFolder();
        var keyFile = Path.Combine(work.Path, "keys.json");
        var keys = KeyMaterial.Generate();
        switch (missing)
        {
            case "no-kek": keys.Kek = new KeyRingOptions(); break;
            case "no-links": keys.Links = new KeyRingOptions(); break;
            case "no-subject-hash-key": keys.SubjectHashKey = null; break;
        }

        if (missing != "no-file")
        {
            KeyMaterial.WriteKeyFile(keyFile, keys);
        }

        // The servers are never reached: keys are resolved before the catalog is opened.
        var environment = ProductionEnvironment(PublishedApp.FreePort(), "Host=127.0.0.1;Port=1;Database=none;Username=none", keyFile);
        if (missing == "no-keys-setting")
        {
            environment.Remove("SecureImage__Keys__File");
        }

        using var process = app.Start(environment, work.Path);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync(TestTimeout.OneMinute);
        }
        catch (OperationCanceledException)
        {
            await PublishedApp.StopAsync(process);
            Assert.Fail($"The published app started although {missing}.");
        }

        var output = await stdout + await stderr;
        SecureImageFactory.AssertOneLineRefusal(process.ExitCode, await stderr, output);
        Assert.Contains(named, await stderr, StringComparison.Ordinal);
    }

    private static Dictionary<string, string> ProductionEnvironment(int port, string postgres, string keyFile) => new()
    {
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
        ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
        ["SecureImage__Catalog__Provider"] = "Postgres",
        ["SecureImage__Catalog__ConnectionString"] = postgres,
        ["SecureImage__Blobs__Provider"] = "AzureBlob",
        ["SecureImage__Blobs__ConnectionString"] = TestServers.AzuriteConnectionString,
        ["SecureImage__Blobs__Container"] = "pub" + Guid.NewGuid().ToString("N"),
        ["SecureImage__Keys__File"] = keyFile,
        ["SecureImage__Bots__published__ApiKeySha256"] = SecureImageFactory.Sha256Hex(BotKey),
    };

    private static async Task WaitUntilReadyAsync(HttpClient http, Process process, System.Text.StringBuilder output)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            Assert.False(process.HasExited, $"The published app exited with {(process.HasExited ? process.ExitCode : 0)}. Output:\n{output}");
            try
            {
                using var response = await http.GetAsync("/health/ready");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
                    Assert.Equal("Healthy", body.GetProperty("checks").GetProperty("keyProvider").GetProperty("status").GetString());
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(200);
        }

        Assert.Fail($"/health/ready did not answer 200 within 60 s. Output:\n{output}");
    }

    private sealed class TempFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("secureimage-pub-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
