using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests;

public sealed class StartupTests
{
    [Theory]
    [InlineData("Production")]
    [InlineData("Staging")]
    public async Task Outside_development_the_service_refuses_to_start_without_keys(string environment)
    {
        using var factory = new SecureImageFactory(environment, withKeys: false);

        var output = await factory.AssertRefusesToStartAsync();

        Assert.Contains("No keys are configured", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Outside_development_the_service_refuses_a_key_ring_missing_its_active_key()
    {
        using var factory = new SecureImageFactory("Production", settings: new Dictionary<string, string?> { ["SecureImage:Keys:Links:ActiveKeyId"] = "missing" });

        var output = await factory.AssertRefusesToStartAsync();

        Assert.Contains("SecureImage:Keys:Links:ActiveKeyId is not the id of a key", output, StringComparison.Ordinal);
        Assert.DoesNotContain("missing", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_service_refuses_to_start_with_a_link_lifetime_over_ten_minutes()
    {
        using var factory = new SecureImageFactory("Testing", settings: new Dictionary<string, string?> { ["SecureImage:Links:Lifetime"] = "00:10:01" });

        var output = await factory.AssertRefusesToStartAsync();

        Assert.Contains("SecureImage refused to start: SecureImage:Links:Lifetime must be at most 00:10:00.", output, StringComparison.Ordinal);
        Assert.DoesNotContain("00:10:01", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("01:00:00", "01:00:00")]
    [InlineData("00:00:00", "01:00:00")]
    [InlineData("02:00:00", "01:00:00")]
    public async Task An_upload_timeout_not_shorter_than_the_orphan_grace_period_is_refused(string uploadTimeout, string gracePeriod)
    {
        using var factory = new SecureImageFactory("Testing", settings: new Dictionary<string, string?>
        {
            ["SecureImage:Limits:UploadTimeout"] = uploadTimeout,
            ["SecureImage:Retention:OrphanGracePeriod"] = gracePeriod,
        });

        var output = await factory.AssertRefusesToStartAsync();

        Assert.Contains("SecureImage:Limits:UploadTimeout", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_catalog_provider_is_refused_by_the_setting_name()
    {
        using var factory = new SecureImageFactory("Testing", settings: new Dictionary<string, string?> { ["SecureImage:Catalog:Provider"] = "MongoCatalogXyz" });

        var output = await factory.AssertRefusesToStartAsync();

        Assert.Contains("SecureImage refused to start: SecureImage:Catalog:Provider is invalid", output, StringComparison.Ordinal);
        Assert.DoesNotContain("MongoCatalogXyz", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SecureImage:Links:Lifetime", "ten-minutes-q7")]
    [InlineData("SecureImage:Limits:MaxUploadBytes", "20MB-q7")]
    [InlineData("SecureImage:Retention:SweepInterval", "every-minute-q7")]
    public async Task A_value_that_does_not_parse_is_refused_naming_the_setting_not_the_value(string key, string value)
    {
        using var factory = new SecureImageFactory("Testing", settings: new Dictionary<string, string?> { [key] = value });

        var output = await factory.AssertRefusesToStartAsync();

        Assert.Contains($"SecureImage refused to start: {key} is not a valid ", output, StringComparison.Ordinal);
        Assert.DoesNotContain(value, output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("MaxFrames", "0")]
    [InlineData("RequestReadAheadBytes", "32767")]
    [InlineData("RequestReadAheadBytes", "16777217")]
    public async Task A_limit_out_of_range_is_refused_with_its_full_setting_name(string limit, string value)
    {
        using var factory = new SecureImageFactory("Testing", settings: new Dictionary<string, string?> { [$"SecureImage:Limits:{limit}"] = value });

        var output = await factory.AssertRefusesToStartAsync();

        Assert.Contains($"SecureImage refused to start: SecureImage:Limits:{limit} is invalid", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, 64 * 1024)]
    [InlineData("262144", 256 * 1024)]
    public void The_socket_transport_reads_ahead_of_a_request_no_more_than_the_read_ahead_limit(string? configured, long expected)
    {
        // Kestrel's own default is 1 MiB per connection, pinned and pooled: 64 connections that once uploaded kept 64 MiB.
        var settings = new Dictionary<string, string?>();
        if (configured is not null)
        {
            settings["SecureImage:Limits:RequestReadAheadBytes"] = configured;
        }

        using var factory = new SecureImageFactory("Testing", settings: settings);

        var transport = factory.Services.GetRequiredService<IOptions<SocketTransportOptions>>().Value;

        Assert.Equal(expected, transport.MaxReadBufferSize);
    }

    [Fact]
    public async Task A_key_that_is_not_base64_is_refused_without_repeating_it()
    {
        const string NotBase64 = "not*base64*kek-secret-q7";
        using var factory = new SecureImageFactory("Production", settings: new Dictionary<string, string?> { ["SecureImage:Keys:Kek:Keys:kek1"] = NotBase64 });

        var output = await factory.AssertRefusesToStartAsync();

        Assert.Contains("SecureImage refused to start: SecureImage:Keys:Kek:Keys:kek1 is not base64.", output, StringComparison.Ordinal);
        Assert.DoesNotContain(NotBase64, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_data_directory_that_cannot_be_created_is_refused_naming_the_setting()
    {
        using var factory = new SecureImageFactory("Testing", settings: new Dictionary<string, string?> { ["SecureImage:DataDirectory"] = "/dev/null/secureimage-q7" });

        var output = await factory.AssertRefusesToStartAsync();

        Assert.Contains("SecureImage:DataDirectory", output, StringComparison.Ordinal);
        Assert.DoesNotContain("secureimage-q7", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_catalog_that_does_not_answer_at_start_is_one_line_and_exit_code_69_without_its_connection_string()
    {
        using var factory = new SecureImageFactory("Testing", settings: new Dictionary<string, string?>
        {
            ["SecureImage:Catalog:Provider"] = "Postgres",
            ["SecureImage:Catalog:ConnectionString"] = $"Host=127.0.0.1;Port={ClosedPort()};Database=none;Username=none;Password=hunter3-secret;Timeout=3",
        });

        var output = await factory.AssertRefusesToStartAsync(exitCode: 69, linePrefix: "SecureImage could not start: the catalog did not answer");

        Assert.DoesNotContain("hunter3-secret", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Outside_development_a_bot_configured_with_the_development_key_is_refused()
    {
        using var factory = new SecureImageFactory("Production", settings: new Dictionary<string, string?>
        {
            ["SecureImage:Bots:sneaky:ApiKeySha256"] = SecureImageFactory.Sha256Hex("dev-bot-key"),
        });

        var output = await factory.AssertRefusesToStartAsync();

        Assert.Contains("development key", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_development_bot_exists_in_development()
    {
        using var factory = new SecureImageFactory("Development", withKeys: false, withBots: false);

        var consentId = await factory.CreateBotClient("dev-bot-key").CreateConsentAsync();

        Assert.NotEqual(Guid.Empty, consentId);
    }

    [Fact]
    public async Task The_development_bot_does_not_exist_outside_development()
    {
        using var factory = new SecureImageFactory("Production");

        var response = await factory.CreateBotClient("dev-bot-key").GetAsync($"/v1/images/{Guid.NewGuid()}");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task In_development_keys_are_generated_once_into_the_data_folder_with_mode_0600_and_reused()
    {
        Guid consentId;
        string dataDirectory;
        string? link;
        using (var first = new SecureImageFactory("Development", withKeys: false, withBots: false))
        {
            dataDirectory = first.DataDirectory;
            var client = first.CreateBotClient("dev-bot-key");
            consentId = await client.CreateConsentAsync();
            link = (await client.UploadOkAsync(consentId, Corpus.Read("jpg_Canon_40D.jpg"))).Link.Url;
            var keyFile = Path.Combine(dataDirectory, "keys.json");
            Assert.True(File.Exists(keyFile));
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
            }

            // Keep the folder for the second host.
            var copy = Directory.CreateTempSubdirectory("secureimage-keep-").FullName;
            CopyFolder(dataDirectory, copy);
            dataDirectory = copy;
        }

        using var second = new SecureImageFactory("Development", withKeys: false, withBots: false, settings: new Dictionary<string, string?> { ["SecureImage:DataDirectory"] = dataDirectory });
        try
        {
            // The same link signing key and key-encryption key: the old link still opens the image.
            var response = await second.CreateAnonymousClient().GetAsync(ApiClient.PathOf(link));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        finally
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task Liveness_readiness_and_the_openapi_document_are_served_without_a_key()
    {
        using var factory = new SecureImageFactory();
        var client = factory.CreateAnonymousClient();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        var ready = await client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var readiness = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("checks");
        Assert.True(readiness.TryGetProperty("catalog", out _));
        Assert.True(readiness.TryGetProperty("blobStore", out _));
        Assert.True(readiness.TryGetProperty("keyProvider", out _));

        var openApi = await client.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, openApi.StatusCode);
        var paths = JsonDocument.Parse(await openApi.Content.ReadAsStringAsync()).RootElement.GetProperty("paths");
        foreach (var path in new[] { "/v1/consents", "/v1/consents/{id}", "/v1/images", "/v1/images/{id}", "/v1/images/{id}/links", "/v1/downloads/{id}" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"OpenAPI misses {path}");
        }
    }

    [Fact]
    public async Task The_service_refuses_to_start_on_postgres_without_a_connection_string()
    {
        using var factory = new SecureImageFactory("Testing", settings: new Dictionary<string, string?> { ["SecureImage:Catalog:Provider"] = "Postgres" });

        var output = await factory.AssertRefusesToStartAsync();

        Assert.Contains("Catalog:Provider is Postgres: set SecureImage:Catalog:ConnectionString", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_service_refuses_an_invalid_postgres_connection_string_without_repeating_it()
    {
        using var factory = new SecureImageFactory("Testing", settings: new Dictionary<string, string?>
        {
            ["SecureImage:Catalog:Provider"] = "Postgres",
            ["SecureImage:Catalog:ConnectionString"] = "Host=db;Password=hunter2-secret;NoSuchSetting=1",
        });

        var output = await factory.AssertRefusesToStartAsync();

        Assert.Contains("Catalog:ConnectionString is not a valid Npgsql connection string", output, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2-secret", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Data Source=catalog.db;NoSuchKeyword=sqlite-secret-q7")]
    [InlineData("Data Source=catalog.db;Mode=sqlite-secret-q7")]
    [InlineData("Data Source=catalog.db;Default Timeout=sqlite-secret-q7")]
    [InlineData("Data Source=catalog.db;Default Timeout=99999999999999")]
    [InlineData("sqlite-secret-q7")]
    [InlineData(" ")]
    public async Task The_service_refuses_an_invalid_sqlite_connection_string_without_repeating_it(string connectionString)
    {
        using var factory = new SecureImageFactory("Testing", settings: new Dictionary<string, string?> { ["SecureImage:Catalog:ConnectionString"] = connectionString });

        var output = await factory.AssertRefusesToStartAsync();

        Assert.Contains("SecureImage:Catalog:ConnectionString is not a valid SQLite connection string", output, StringComparison.Ordinal);
        Assert.DoesNotContain("q7", output, StringComparison.Ordinal);
        Assert.DoesNotContain("99999999999999", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("listen-url-q7")]
    [InlineData("http://")]
    public async Task A_listening_address_that_is_not_a_url_is_one_line_and_exit_code_78_without_repeating_it(string urls)
    {
        using var factory = new SecureImageFactory();

        var output = await factory.AssertRefusesToStartAsync(urls: urls);

        Assert.Contains("the address to listen on is not a valid URL", output, StringComparison.Ordinal);
        Assert.DoesNotContain("q7", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_SAS_blob_connection_string_is_one_line_and_exit_code_78_without_repeating_it()
    {
        using var factory = new SecureImageFactory("Testing", settings: new Dictionary<string, string?>
        {
            ["SecureImage:Blobs:Provider"] = "AzureBlob",
            ["SecureImage:Blobs:ConnectionString"] = "BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature=sv=2025-05-05&sig=sas-secret-q7",
        });

        var output = await factory.AssertRefusesToStartAsync();

        Assert.Contains("SecureImage:Blobs:ConnectionString must carry an account key", output, StringComparison.Ordinal);
        Assert.DoesNotContain("sas-secret-q7", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SecureImage:Blobs:MaxRetries", "11")]
    [InlineData("SecureImage:Blobs:NetworkTimeout", "00:00:00")]
    [InlineData("SecureImage:Blobs:RetryDelay", "00:01:00")]
    [InlineData("SecureImage:Blobs:TransferSizeBytes", "1024")]
    [InlineData("SecureImage:Blobs:BlockSizeBytes", "1024")]
    [InlineData("SecureImage:Blobs:BlockSizeBytes", "67108865")]
    [InlineData("SecureImage:Blobs:ManagedIdentityClientId", "not-a-guid-q7")]
    public async Task A_blob_client_setting_out_of_range_is_refused_with_its_full_setting_name_not_its_value(string key, string value)
    {
        using var factory = new SecureImageFactory("Testing", settings: new Dictionary<string, string?>
        {
            ["SecureImage:Blobs:Provider"] = "AzureBlob",
            ["SecureImage:Blobs:ServiceUri"] = "https://acct.blob.core.windows.net",
            [key] = value,
        });

        var output = await factory.AssertRefusesToStartAsync();

        Assert.Contains(key, output, StringComparison.Ordinal);
        Assert.DoesNotContain("q7", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_listening_address_already_in_use_is_one_line_and_exit_code_78()
    {
        using var occupied = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        occupied.Start();
        using var factory = new SecureImageFactory();

        var output = await factory.AssertRefusesToStartAsync(urls: $"http://127.0.0.1:{((IPEndPoint)occupied.LocalEndpoint).Port}");

        Assert.Contains("the address to listen on is already in use", output, StringComparison.Ordinal);
    }

    /// <summary>A loopback port nothing listens on (bound, then released).</summary>
    private static int ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
