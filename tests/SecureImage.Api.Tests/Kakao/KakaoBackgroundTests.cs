using System.Net;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using SecureImage.Api.Tests.TestSupport;
using SecureImage.Core.Kakao;
using SecureImage.Storage.Sqlite;

namespace SecureImage.Api.Tests.Kakao;

/// <summary>Work that does not fit the response budget: callback mode, background completion, retries, restarts.</summary>
public sealed class KakaoBackgroundTests : IAsyncLifetime
{
    private const string Jpeg = "jpg_Canon_40D.jpg";
    private static readonly Dictionary<string, string?> SmallBudget = new() { ["SecureImage:Kakao:ResponseBudget"] = "00:00:01" };
    private FakeKakao _kakao = null!;

    public async Task InitializeAsync() => _kakao = await FakeKakao.StartAsync();

    public async Task DisposeAsync() => await _kakao.DisposeAsync();

    private static Task<IReadOnlyList<KakaoFetchStatus>> RequestAsync(SecureImageFactory factory, string requestId) =>
        factory.Services.GetRequiredService<IKakaoFetchQueue>().GetRequestAsync(Guid.Parse(requestId), CancellationToken.None);

    private static Task EventuallySettledAsync(SecureImageFactory factory, string requestId) =>
        KakaoTestHost.EventuallyAsync(async () => (await RequestAsync(factory, requestId)).All(f => f.State != KakaoFetchState.Pending));

    [Fact]
    public async Task A_slow_cdn_with_a_callback_url_gets_use_callback_within_the_budget_and_one_callback_with_the_result_and_token()
    {
        await using var factory = KakaoTestHost.Create(_kakao, SmallBudget);
        var soon = factory.Time.GetUtcNow().AddMinutes(10);
        // The CDN holds both images until the test lets it answer: the skill must answer (useCallback) on its own budget.
        var gate = $"slow-{Guid.NewGuid():N}";
        var urls = new[] { _kakao.ImageUrl(Jpeg, soon, extra: $"&hold={gate}"), _kakao.ImageUrl("jpg_Nikon_D70.jpg", soon, extra: $"&hold={gate}") };

        var response = await factory.CreateBotClient().PostSkillAsync(KakaoTestHost.Payload(urls, callbackUrl: _kakao.CallbackUrl("cb-1")), callbackToken: "token-1");

        Assert.True(response.GetProperty("useCallback").GetBoolean());
        Assert.False(string.IsNullOrEmpty(response.GetProperty("data").GetProperty("text").GetString()));
        Assert.True(_kakao.Callbacks.IsEmpty);
        _kakao.Release(gate);

        await KakaoTestHost.EventuallyAsync(() => Task.FromResult(!_kakao.Callbacks.IsEmpty));
        await Task.Delay(500);
        var callback = Assert.Single(_kakao.Callbacks);
        Assert.Equal("/callback/cb-1", callback.Path);
        Assert.Equal("token-1", callback.Headers["x-kakao-callback-token"]);
        var final = JsonDocument.Parse(callback.Body).RootElement;
        KakaoTestHost.AssertSkillResponse(final);
        Assert.Equal("2", final.Data("imageCount"));
        Assert.Equal("사진 2장을 안전하게 저장했어요. 저장한 사진은 3일 뒤 자동으로 삭제돼요.", final.Text());
        foreach (var id in final.ImageIds())
        {
            Assert.Equal(HttpStatusCode.OK, (await factory.CreateBotClient().GetAsync($"/v1/images/{id}")).StatusCode);
        }
    }

    [Fact]
    public async Task Without_a_callback_url_the_answer_is_received_and_the_images_still_end_up_stored()
    {
        await using var factory = KakaoTestHost.Create(_kakao, SmallBudget);
        var url = _kakao.ImageUrl(Jpeg, factory.Time.GetUtcNow().AddMinutes(10), extra: "&delayMs=1500");

        var response = await factory.CreateBotClient().PostSkillAsync(KakaoTestHost.Payload([url]));

        Assert.Equal("pending", response.Data("status"));
        Assert.Contains("받았어요", response.Text(), StringComparison.Ordinal);
        await EventuallySettledAsync(factory, response.Data("requestId"));
        var fetch = Assert.Single(await RequestAsync(factory, response.Data("requestId")));
        Assert.Equal(KakaoFetchState.Done, fetch.State);
        Assert.Equal(HttpStatusCode.OK, (await factory.CreateBotClient().GetAsync($"/v1/images/{fetch.ImageId}")).StatusCode);
    }

    [Fact]
    public async Task A_failing_cdn_is_retried_with_backoff_and_a_url_that_expires_meanwhile_is_given_up_with_a_reason()
    {
        await using var factory = KakaoTestHost.Create(_kakao, SmallBudget);
        var now = factory.Time.GetUtcNow();
        var recovers = _kakao.ImageUrl(Jpeg, now.AddMinutes(10), extra: "&fail=500&failTimes=1");
        var neverRecovers = _kakao.ImageUrl(Jpeg, now.AddSeconds(5), extra: "&fail=reset");

        var response = await factory.CreateBotClient().PostSkillAsync(KakaoTestHost.Payload([recovers, neverRecovers]));
        Assert.Equal("pending", response.Data("status"));
        var requestId = response.Data("requestId");
        await KakaoTestHost.EventuallyAsync(async () => (await RequestAsync(factory, requestId)).All(f => f.Attempts >= 1 && f.LastError is not null));

        factory.Time.Advance(TimeSpan.FromSeconds(10));
        await EventuallySettledAsync(factory, requestId);

        var fetches = await RequestAsync(factory, requestId);
        Assert.Equal(KakaoFetchState.Done, fetches[0].State);
        Assert.Equal(2, fetches[0].Attempts);
        Assert.Equal(KakaoFetchState.Failed, fetches[1].State);
        Assert.Equal(KakaoFetchErrors.Expired, fetches[1].LastError);
    }

    [Fact]
    public async Task A_url_claiming_to_live_until_year_9999_is_given_up_as_expired_fifteen_minutes_after_receipt_and_its_url_forgotten()
    {
        await using var factory = KakaoTestHost.Create(_kakao, SmallBudget);
        var receivedAt = factory.Time.GetUtcNow();
        var url = _kakao.ImageUrl(Jpeg, DateTimeOffset.FromUnixTimeSeconds(253402300000), extra: "&fail=500");

        var response = await factory.CreateBotClient().PostSkillAsync(KakaoTestHost.Payload([url]));
        var requestId = response.Data("requestId");
        var fetch = Assert.Single(await RequestAsync(factory, requestId));
        Assert.Equal(receivedAt.AddMinutes(15), fetch.Deadline);
        await KakaoTestHost.EventuallyAsync(async () => (await RequestAsync(factory, requestId))[0].LastError is not null);

        factory.Time.Advance(TimeSpan.FromMinutes(15));
        await EventuallySettledAsync(factory, requestId);

        fetch = Assert.Single(await RequestAsync(factory, requestId));
        Assert.Equal((KakaoFetchState.Failed, KakaoFetchErrors.Expired), (fetch.State, fetch.LastError));
        Assert.Equal(0L, await StoredUrlsAsync(factory, requestId));
    }

    [Fact]
    public async Task A_shorter_configured_cap_bounds_the_deadline_too()
    {
        await using var factory = KakaoTestHost.Create(_kakao, new Dictionary<string, string?>(SmallBudget)
        {
            ["SecureImage:Kakao:MaxUrlLifetime"] = "00:02:00",
            ["SecureImage:Kakao:DefaultUrlLifetime"] = "00:01:00",
        });
        var receivedAt = factory.Time.GetUtcNow();
        var urls = new[] { _kakao.ImageUrl(Jpeg, receivedAt.AddMinutes(10), extra: "&fail=500"), _kakao.ImageUrl(Jpeg, receivedAt.AddMinutes(10), extra: "&fail=500").Replace("expires=", "e=", StringComparison.Ordinal) };

        var response = await factory.CreateBotClient().PostSkillAsync(KakaoTestHost.Payload(urls));

        var fetches = await RequestAsync(factory, response.Data("requestId"));
        Assert.Equal([receivedAt.AddMinutes(2), receivedAt.AddMinutes(1)], fetches.Select(f => f.Deadline));
    }

    /// <summary>How many of a request's rows still hold their URL, read straight from the SQLite file.</summary>
    private static async Task<long> StoredUrlsAsync(SecureImageFactory factory, string requestId)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(factory.DataDirectory, "catalog.db")};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM kakao_fetches WHERE request_id = $request AND url IS NOT NULL;";
        command.Parameters.AddWithValue("$request", requestId);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task After_a_restart_pending_fetches_are_ingested_if_their_urls_still_work_and_expired_ones_given_up()
    {
        var shared = new Dictionary<string, string?>(SmallBudget) { ["SecureImage:DataDirectory"] = Directory.CreateTempSubdirectory("secureimage-kakao-restart-").FullName };
        foreach (var (key, value) in SecureImageFactory.NewKeySettings())
        {
            shared[key] = value;
        }

        string requestId;
        var first = KakaoTestHost.Create(_kakao, shared);
        var start = first.Time.GetUtcNow();
        var lasting = _kakao.ImageUrl(Jpeg, start.AddMinutes(10), extra: "&delayMs=1500");
        var shortLived = _kakao.ImageUrl("jpg_Nikon_D70.jpg", start.AddSeconds(30), extra: "&delayMs=1500");
        await using (first)
        {
            var response = await first.CreateBotClient().PostSkillAsync(KakaoTestHost.Payload([lasting, shortLived]));
            Assert.Equal("pending", response.Data("status"));
            requestId = response.Data("requestId");
        }

        // The first process stopped mid-fetch: both are still pending, in the database it leaves behind.
        var leftBehind = new SqliteKakaoFetchQueue(new SqliteCatalogOptions { ConnectionString = $"Data Source={Path.Combine(shared["SecureImage:DataDirectory"]!, "catalog.db")}" });
        Assert.All(await leftBehind.GetRequestAsync(Guid.Parse(requestId), CancellationToken.None), f => Assert.Equal(KakaoFetchState.Pending, f.State));

        // A minute later (past any lease the first process held): the short-lived URL has expired.
        await using var second = KakaoTestHost.Create(_kakao, shared);
        second.Time.Set(start.AddSeconds(61));
        await EventuallySettledAsync(second, requestId);

        var fetches = await RequestAsync(second, requestId);
        Assert.Equal(KakaoFetchState.Done, fetches[0].State);
        Assert.Equal(HttpStatusCode.OK, (await second.CreateBotClient().GetAsync($"/v1/images/{fetches[0].ImageId}")).StatusCode);
        Assert.Equal(KakaoFetchState.Failed, fetches[1].State);
        Assert.Equal(KakaoFetchErrors.Expired, fetches[1].LastError);
        Directory.Delete(shared["SecureImage:DataDirectory"]!, recursive: true);
    }
}
