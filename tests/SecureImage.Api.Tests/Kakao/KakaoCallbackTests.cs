using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SecureImage.Api.Tests.TestSupport;
using SecureImage.Core.Kakao;

namespace SecureImage.Api.Tests.Kakao;

/// <summary>Durable callbacks: held with the fetches, armed by the useCallback answer, sent once by whichever instance is alive, dropped after their minute.</summary>
public sealed class KakaoCallbackTests : IAsyncLifetime
{
    private const string Jpeg = "jpg_Canon_40D.jpg";
    private const string Token = "callback-token-5f1c";
    private static readonly Dictionary<string, string?> SmallBudget = new() { ["SecureImage:Kakao:ResponseBudget"] = "00:00:01" };
    private readonly List<string> _directories = [];
    private FakeKakao _kakao = null!;

    public async Task InitializeAsync() => _kakao = await FakeKakao.StartAsync();

    public async Task DisposeAsync()
    {
        await _kakao.DisposeAsync();
        SqliteConnection.ClearAllPools();
        foreach (var directory in _directories)
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task A_callback_promised_before_a_restart_is_sent_once_by_the_next_process_with_the_stored_image()
    {
        var shared = SharedDataDirectory();
        var first = KakaoTestHost.Create(_kakao, shared);
        var url = _kakao.ImageUrl(Jpeg, first.Time.GetUtcNow().AddMinutes(10), extra: "&delayMs=3000");
        await using (first)
        {
            var response = await first.CreateBotClient().PostSkillAsync(KakaoTestHost.Payload([url], callbackUrl: _kakao.CallbackUrl("restart")), callbackToken: Token);
            Assert.True(response.GetProperty("useCallback").GetBoolean());
        }

        // The first process stopped before its fetch finished; it sent nothing and left the callback pending.
        Assert.Empty(_kakao.Callbacks);
        var requestId = await OnlyCallbackRequestAsync(shared);
        Assert.Equal(KakaoCallbackState.Pending, (await CallbackAsync(shared, requestId)).State);

        await using var second = KakaoTestHost.Create(_kakao, shared);
        _ = second.Services; // starts the host: its worker and sender pick up what the first left
        await KakaoTestHost.EventuallyAsync(
            async () => (await CallbackAsync(shared, requestId)).State == KakaoCallbackState.Sent,
            describe: async () => $"fetch row: {await QueryAsync(shared, "SELECT state || ' attempts=' || attempts || ' next=' || next_attempt_at || ' lease=' || IFNULL(lease_until, 'none') || ' error=' || IFNULL(last_error, 'none') FROM kakao_fetches")}, second clock {second.Time.GetUtcNow().ToUnixTimeMilliseconds()}");

        var callback = Assert.Single(_kakao.Callbacks);
        Assert.Equal("/callback/restart", callback.Path);
        Assert.Equal(Token, callback.Headers["x-kakao-callback-token"]);
        var final = JsonDocument.Parse(callback.Body).RootElement;
        KakaoTestHost.AssertSkillResponse(final);
        Assert.Equal(("stored", requestId.ToString("D")), (final.Data("status"), final.Data("requestId")));
        var fetch = Assert.Single(await second.Services.GetRequiredService<IKakaoFetchQueue>().GetRequestAsync(requestId, CancellationToken.None));
        Assert.Equal([fetch.ImageId!.Value], final.ImageIds());
        Assert.False((await CallbackAsync(shared, requestId)).HoldsUrl);
    }

    [Fact]
    public async Task Two_instances_on_one_database_send_a_callback_exactly_once()
    {
        var shared = SharedDataDirectory();
        await using var first = KakaoTestHost.Create(_kakao, shared);
        await using var second = KakaoTestHost.Create(_kakao, shared);
        _ = second.Services; // both hosts running, both senders polling the same callbacks
        var soon = first.Time.GetUtcNow().AddMinutes(10);
        var urls = new[] { _kakao.ImageUrl(Jpeg, soon, extra: "&delayMs=2000"), _kakao.ImageUrl("png_text_gps_xmp.png", soon, extra: "&delayMs=2000") };

        var response = await first.CreateBotClient().PostSkillAsync(KakaoTestHost.Payload(urls, callbackUrl: _kakao.CallbackUrl("twice")), callbackToken: Token);
        Assert.True(response.GetProperty("useCallback").GetBoolean());
        var requestId = await OnlyCallbackRequestAsync(shared);
        await KakaoTestHost.EventuallyAsync(async () => (await CallbackAsync(shared, requestId)).State == KakaoCallbackState.Sent);

        // 'sent' is written after Kakao answered the POST, and only the one claimer ever POSTs.
        var callback = Assert.Single(_kakao.Callbacks);
        Assert.Equal("2", JsonDocument.Parse(callback.Body).RootElement.Data("imageCount"));
    }

    [Fact]
    public async Task At_the_callback_window_the_callback_goes_with_what_is_known_and_the_rest_keeps_fetching()
    {
        var shared = SharedDataDirectory();
        await using var factory = KakaoTestHost.Create(_kakao, shared);
        var soon = factory.Time.GetUtcNow().AddMinutes(10);
        var urls = new[] { _kakao.ImageUrl(Jpeg, soon, extra: "&delayMs=1500"), _kakao.ImageUrl(Jpeg, soon, extra: "&fail=500") };

        var response = await factory.CreateBotClient().PostSkillAsync(KakaoTestHost.Payload(urls, callbackUrl: _kakao.CallbackUrl("window")), callbackToken: Token);
        Assert.True(response.GetProperty("useCallback").GetBoolean());
        var requestId = await OnlyCallbackRequestAsync(shared);
        var queue = factory.Services.GetRequiredService<IKakaoFetchQueue>();
        await KakaoTestHost.EventuallyAsync(async () => (await queue.GetRequestAsync(requestId, CancellationToken.None))[0].State == KakaoFetchState.Done);
        Assert.Empty(_kakao.Callbacks); // the second image is still being retried: not due yet

        factory.Time.Advance(TimeSpan.FromSeconds(45));
        await KakaoTestHost.EventuallyAsync(async () => (await CallbackAsync(shared, requestId)).State == KakaoCallbackState.Sent);

        var final = JsonDocument.Parse(Assert.Single(_kakao.Callbacks).Body).RootElement;
        Assert.Equal(("pending", "1", "1"), (final.Data("status"), final.Data("imageCount"), final.Data("pendingCount")));
        Assert.Contains("1장은 아직 저장하는 중이에요", final.Text(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_callback_past_its_minute_is_dropped_unsent_and_its_url_and_token_forgotten()
    {
        var shared = SharedDataDirectory();
        await using var factory = KakaoTestHost.Create(_kakao, new Dictionary<string, string?>(shared) { ["SecureImage:Kakao:CallbackWindow"] = "00:00:59" });
        var url = _kakao.ImageUrl(Jpeg, factory.Time.GetUtcNow().AddMinutes(10), extra: "&fail=500");

        var response = await factory.CreateBotClient().PostSkillAsync(KakaoTestHost.Payload([url], callbackUrl: _kakao.CallbackUrl("late")), callbackToken: Token);
        Assert.True(response.GetProperty("useCallback").GetBoolean());
        var requestId = await OnlyCallbackRequestAsync(shared);

        // No instance got to it within its minute (here: the clock jumps past it before it was due).
        factory.Time.Advance(TimeSpan.FromSeconds(61));
        await KakaoTestHost.EventuallyAsync(async () => (await CallbackAsync(shared, requestId)).State == KakaoCallbackState.Expired);

        Assert.Empty(_kakao.Callbacks);
        Assert.False((await CallbackAsync(shared, requestId)).HoldsUrl);
        Assert.Equal(0L, await ScalarAsync(shared, "SELECT COUNT(*) FROM kakao_callbacks WHERE url IS NOT NULL OR token IS NOT NULL;"));
    }

    [Fact]
    public async Task With_preview_links_configured_the_callback_carries_one_working_preview_link_per_stored_image_in_order()
    {
        var shared = SharedDataDirectory();
        await using var factory = KakaoTestHost.Create(_kakao, new Dictionary<string, string?>(shared)
        {
            ["SecureImage:Kakao:PreviewLinks"] = "true",
            ["SecureImage:Links:PublicBaseUrl"] = "https://images.example.test",
        });
        var soon = factory.Time.GetUtcNow().AddMinutes(10);
        var urls = new[] { _kakao.ImageUrl(Jpeg, soon, extra: "&delayMs=1500"), _kakao.ImageUrl("png_text_gps_xmp.png", soon, extra: "&delayMs=1500") };

        var response = await factory.CreateBotClient().PostSkillAsync(KakaoTestHost.Payload(urls, callbackUrl: _kakao.CallbackUrl("previews")), callbackToken: Token);
        Assert.True(response.GetProperty("useCallback").GetBoolean());
        var requestId = await OnlyCallbackRequestAsync(shared);
        await KakaoTestHost.EventuallyAsync(async () => (await CallbackAsync(shared, requestId)).State == KakaoCallbackState.Sent);

        // Composed by the callback sender, not the skill request: no request to take a host from, so the public base URL.
        var final = JsonDocument.Parse(Assert.Single(_kakao.Callbacks).Body).RootElement;
        var ids = final.ImageIds();
        var previews = final.Data("previewUrls").Split(',');
        Assert.Equal(2, ids.Count);
        Assert.Equal(ids.Count, previews.Length);
        var anonymous = factory.CreateAnonymousClient();
        for (var index = 0; index < ids.Count; index++)
        {
            Assert.StartsWith($"https://images.example.test/v1/downloads/{ids[index]:D}?", previews[index], StringComparison.Ordinal);
            Assert.EndsWith("&variant=preview", previews[index], StringComparison.Ordinal);
            var preview = await anonymous.GetAsync(ApiClient.PathOf(previews[index]));
            Assert.Equal(System.Net.HttpStatusCode.OK, preview.StatusCode);
            Assert.Equal("image/jpeg", preview.Content.Headers.ContentType?.MediaType);
        }
    }

    [Fact]
    public async Task Answered_within_the_budget_the_held_callback_is_closed_unsent()
    {
        var shared = SharedDataDirectory();
        await using var factory = KakaoTestHost.Create(_kakao, shared);

        var response = await factory.CreateBotClient().PostSkillAsync(
            KakaoTestHost.Payload([_kakao.ImageUrl(Jpeg, factory.Time.GetUtcNow().AddMinutes(10))], callbackUrl: _kakao.CallbackUrl("direct")), callbackToken: Token);

        Assert.Equal("stored", response.Data("status"));
        var callback = await CallbackAsync(shared, Guid.Parse(response.Data("requestId")));
        Assert.Equal((KakaoCallbackState.Answered, false), (callback.State, callback.HoldsUrl));
        Assert.Empty(_kakao.Callbacks);
    }

    [Fact]
    public async Task Refused_and_surplus_urls_are_counted_in_a_callback_composed_from_the_queue()
    {
        var shared = SharedDataDirectory();
        await using var factory = KakaoTestHost.Create(_kakao, shared);
        var soon = factory.Time.GetUtcNow().AddMinutes(10);
        var urls = Enumerable.Range(0, 10).Select(i => _kakao.ImageUrl(Jpeg, soon, extra: $"&n={i}&delayMs=1500")).ToList();
        urls[3] = "http://evil.test/a.jpg?expires=9999999999";
        urls.Add(_kakao.ImageUrl(Jpeg, soon, extra: "&n=10"));

        var response = await factory.CreateBotClient().PostSkillAsync(KakaoTestHost.Payload(urls, callbackUrl: _kakao.CallbackUrl("counts")), callbackToken: Token);
        Assert.True(response.GetProperty("useCallback").GetBoolean());
        var requestId = await OnlyCallbackRequestAsync(shared);
        await KakaoTestHost.EventuallyAsync(async () => (await CallbackAsync(shared, requestId)).State == KakaoCallbackState.Sent, seconds: 60);

        var final = JsonDocument.Parse(Assert.Single(_kakao.Callbacks).Body).RootElement;
        Assert.Equal(("partial", "9", "2"), (final.Data("status"), final.Data("imageCount"), final.Data("failedCount")));
        Assert.Contains("허용되지 않은 주소의 사진이에요 (1장)", final.Text(), StringComparison.Ordinal);
        Assert.Contains("한 번에 10장까지만 받을 수 있어요 (1장)", final.Text(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_callback_token_that_cannot_be_sent_back_as_given_means_no_callback_and_a_received_answer()
    {
        var shared = SharedDataDirectory();
        await using var factory = KakaoTestHost.Create(_kakao, shared);
        var url = _kakao.ImageUrl(Jpeg, factory.Time.GetUtcNow().AddMinutes(10), extra: "&delayMs=1500");

        var response = await factory.CreateBotClient().PostSkillAsync(KakaoTestHost.Payload([url], callbackUrl: _kakao.CallbackUrl("token")), callbackToken: new string('t', 1025));

        Assert.Equal("pending", response.Data("status"));
        Assert.Equal(0L, await ScalarAsync(shared, "SELECT COUNT(*) FROM kakao_callbacks;"));
    }

    [Fact]
    public async Task Neither_the_callback_url_nor_its_token_reaches_any_log()
    {
        var logs = new CapturedLogs();
        var shared = SharedDataDirectory();
        await using var factory = KakaoTestHost.Create(_kakao, shared, services: s => s.AddSingleton<ILoggerProvider>(logs));
        var url = _kakao.ImageUrl(Jpeg, factory.Time.GetUtcNow().AddMinutes(10), extra: "&delayMs=1500");

        await factory.CreateBotClient().PostSkillAsync(KakaoTestHost.Payload([url], callbackUrl: _kakao.CallbackUrl("secret-callback-path")), callbackToken: Token);
        var requestId = await OnlyCallbackRequestAsync(shared);
        await KakaoTestHost.EventuallyAsync(async () => (await CallbackAsync(shared, requestId)).State == KakaoCallbackState.Sent);

        Assert.Contains(logs.Entries, e => e.Message.Contains(requestId.ToString(), StringComparison.Ordinal) && e.Message.Contains("callback", StringComparison.OrdinalIgnoreCase));
        logs.AssertNoneContain(Token, "secret-callback-path", "kakao-user-1", "cdn.test");
    }

    /// <summary>Settings for hosts sharing one data directory (catalog and keys), as instances of one deployment would.</summary>
    private Dictionary<string, string?> SharedDataDirectory()
    {
        _directories.Add(Directory.CreateTempSubdirectory("secureimage-kakao-callback-").FullName);
        var settings = new Dictionary<string, string?>(SmallBudget) { ["SecureImage:DataDirectory"] = _directories[^1] };
        foreach (var (key, value) in SecureImageFactory.NewKeySettings())
        {
            settings[key] = value;
        }

        return settings;
    }

    private static async Task<object?> QueryAsync(Dictionary<string, string?> shared, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(shared["SecureImage:DataDirectory"]!, "catalog.db")};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    private static async Task<long> ScalarAsync(Dictionary<string, string?> shared, string sql) => await QueryAsync(shared, sql) is long value ? value : 0;

    /// <summary>The request id of the one callback in this test's database (the useCallback answer carries none).</summary>
    private static async Task<Guid> OnlyCallbackRequestAsync(Dictionary<string, string?> shared)
    {
        Assert.Equal(1L, await ScalarAsync(shared, "SELECT COUNT(*) FROM kakao_callbacks;"));
        return Guid.Parse((string)(await QueryAsync(shared, "SELECT request_id FROM kakao_callbacks;"))!);
    }

    /// <summary>The callback's state read through a queue of its own on the shared database, as another instance would see it.</summary>
    private static async Task<KakaoCallbackStatus> CallbackAsync(Dictionary<string, string?> shared, Guid requestId)
    {
        var queue = new Storage.Sqlite.SqliteKakaoFetchQueue(new Storage.Sqlite.SqliteCatalogOptions { ConnectionString = $"Data Source={Path.Combine(shared["SecureImage:DataDirectory"]!, "catalog.db")}" });
        return (await queue.GetCallbackAsync(requestId, CancellationToken.None))!;
    }
}
