using System.Net;
using System.Text.Json;
using SecureImage.Api.Tests.Kakao;
using SecureImage.Api.Tests.TestSupport;
using SecureImage.Core.Kakao;
using SecureImage.Storage.Postgres;
using SecureImage.Storage.Sqlite;

namespace SecureImage.Api.Tests.Faults;

/// <summary>
/// kill -9 of the real service right after it answered a Kakao skill request with <c>useCallback</c>,
/// before the images were stored: the restarted process fetches them and POSTs the callback, exactly
/// once, while Kakao's callback URL still works. On the embedded default and on PostgreSQL.
/// </summary>
public sealed class KillBetweenAnswerAndCallbackTests : IAsyncLifetime
{
    private const string Token = "kill-test-callback-token";
    private FakeKakao _kakao = null!;
    private PostgresTestDatabase? _database;
    private ServiceProcess? _service;

    public async Task InitializeAsync() => _kakao = await FakeKakao.StartAsync();

    public async Task DisposeAsync()
    {
        if (_service is not null)
        {
            await _service.DisposeAsync();
        }

        if (_database is not null)
        {
            await _database.DisposeAsync();
        }

        await _kakao.DisposeAsync();
    }

    [Theory]
    [InlineData("Sqlite")]
    [InlineData("Postgres")]
    public async Task A_process_killed_after_answering_use_callback_has_its_successor_send_the_callback_once_with_the_stored_image(string catalog)
    {
        var settings = new Dictionary<string, string?>(SecureImageFactory.NewKeySettings())
        {
            // The fake CDN on loopback under a real host name the service resolves itself.
            ["SecureImage:Kakao:AllowLoopback"] = "true",
            ["SecureImage:Kakao:AllowedHosts:0"] = "localhost",
            ["SecureImage:Kakao:ResponseBudget"] = "00:00:01",
            ["SecureImage:Kakao:CallbackWindow"] = "00:00:55",
            ["SecureImage:Kakao:PollInterval"] = "00:00:00.200",

            // The killed process's lease on the fetch runs out soon after the restart.
            ["SecureImage:Kakao:FetchTimeout"] = "00:00:05",
            ["SecureImage:Kakao:FetchLease"] = "00:00:06",
        };
        if (catalog == "Postgres")
        {
            _database = await PostgresTestDatabase.CreateAsync();
            settings["SecureImage:Catalog:Provider"] = "Postgres";
            settings["SecureImage:Catalog:ConnectionString"] = _database.ConnectionString;
        }

        _service = new ServiceProcess(settings);
        await _service.StartAsync();
        using var client = _service.CreateClient();
        var url = _kakao.ImageUrl("jpg_Canon_40D.jpg", DateTimeOffset.UtcNow.AddMinutes(10), host: "localhost", extra: "&delayMs=3000");

        var response = await client.PostSkillAsync(KakaoTestHost.Payload([url], callbackUrl: _kakao.CallbackUrl("killed")), callbackToken: Token);
        Assert.True(response.GetProperty("useCallback").GetBoolean());
        _service.Kill();

        // Killed mid-fetch: nothing was sent, and the callback waits in the catalog.
        Assert.Empty(_kakao.Callbacks);
        await using var queue = Queue(catalog);
        var requestId = await queue.OnlyCallbackAsync();
        Assert.Equal(KakaoCallbackState.Pending, (await queue.Queue.GetCallbackAsync(requestId, CancellationToken.None))!.State);

        await _service.StartAsync();
        await KakaoTestHost.EventuallyAsync(async () => (await queue.Queue.GetCallbackAsync(requestId, CancellationToken.None))!.State == KakaoCallbackState.Sent, seconds: 50);

        var callback = Assert.Single(_kakao.Callbacks);
        Assert.Equal("/callback/killed", callback.Path);
        Assert.Equal(Token, callback.Headers["x-kakao-callback-token"]);
        var final = JsonDocument.Parse(callback.Body).RootElement;
        KakaoTestHost.AssertSkillResponse(final);
        Assert.Equal(("stored", "1"), (final.Data("status"), final.Data("imageCount")));
        var imageId = Assert.Single(final.ImageIds());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/v1/images/{imageId}")).StatusCode);
        Assert.False((await queue.Queue.GetCallbackAsync(requestId, CancellationToken.None))!.HoldsUrl);
        Assert.DoesNotContain(Token, _service.Output, StringComparison.Ordinal);
    }

    private QueueOnDisk Queue(string catalog)
    {
        if (catalog == "Postgres")
        {
            var postgres = new PostgresImageCatalog(new PostgresCatalogOptions { ConnectionString = _database!.ConnectionString });
            var database = _database;
            return new QueueOnDisk(new PostgresKakaoFetchQueue(postgres), async () => (Guid)(await database.ScalarAsync("SELECT request_id FROM kakao_callbacks;"))!, postgres);
        }

        var connectionString = $"Data Source={Path.Combine(_service!.DataDirectory, "catalog.db")}";
        return new QueueOnDisk(new SqliteKakaoFetchQueue(new SqliteCatalogOptions { ConnectionString = connectionString }), async () =>
        {
            await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"{connectionString};Pooling=False");
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT request_id FROM kakao_callbacks;";
            return Guid.Parse((string)(await command.ExecuteScalarAsync())!);
        }, null);
    }

    /// <summary>The service's queue read from outside the process, as another instance would; <paramref name="onlyCallback"/> finds the one callback's request (the useCallback answer carries no id).</summary>
    private sealed class QueueOnDisk(IKakaoFetchQueue queue, Func<Task<Guid>> onlyCallback, IAsyncDisposable? owned) : IAsyncDisposable
    {
        public IKakaoFetchQueue Queue => queue;

        public Task<Guid> OnlyCallbackAsync() => onlyCallback();

        public async ValueTask DisposeAsync()
        {
            if (owned is not null)
            {
                await owned.DisposeAsync();
            }
        }
    }
}
