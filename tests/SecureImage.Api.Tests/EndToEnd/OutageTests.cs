using System.Net;
using System.Text.Json;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests.EndToEnd;

/// <summary>
/// Storage outages with real servers this test starts, stops and restarts itself: while one is down,
/// the service answers 503 problems and half-writes nothing; when it is back, the same service
/// instance works again without a restart.
/// </summary>
public sealed class OutageTests : IAsyncLifetime
{
    private readonly OwnServers _servers = new();
    private ProductionBackend? _backend;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_backend is not null)
        {
            await _backend.DisposeAsync();
        }

        await _servers.DisposeAsync();
    }

    [Fact]
    public async Task While_azurite_is_down_uploads_answer_503_and_commit_nothing_then_work_again_when_it_returns()
    {
        _backend = await ProductionBackend.CreateAsync(azuriteConnectionString: await _servers.StartAsync(OwnServers.Azurite));
        var service = _backend.NewInstance();
        var client = service.CreateBotClient();
        var consentId = await client.CreateConsentAsync();
        var before = await client.UploadOkAsync(consentId, Corpus.Read("jpg_Canon_40D.jpg"));

        await _servers.StopAsync(OwnServers.Azurite);

        var refused = await client.UploadAsync(consentId, Corpus.Read("jpg_Nikon_D70.jpg"));
        await refused.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "service-unavailable");
        Assert.Equal("5", refused.Headers.RetryAfter?.ToString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await service.CreateAnonymousClient().GetAsync("/health/ready")).StatusCode);
        Assert.Equal(1, await _backend.CountAsync("FROM images"));
        Assert.Equal(1, await _backend.CountAsync("FROM audit_events WHERE kind = 'image.uploaded'"));

        await _servers.StartAsync(OwnServers.Azurite);

        var after = await client.UploadOkAsync(consentId, Corpus.Read("jpg_Nikon_D70.jpg"));
        Assert.Equal(HttpStatusCode.OK, (await service.CreateAnonymousClient().GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await service.CreateAnonymousClient().GetAsync(ApiClient.PathOf(before.Link.Url))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await service.CreateAnonymousClient().GetAsync(ApiClient.PathOf(after.Link.Url))).StatusCode);
        Assert.Equal(
            new[] { await _backend.BlobNameOfAsync(before.Id), await _backend.BlobNameOfAsync(after.Id) }.Order(),
            (await OfficialBlobClient.ListBlobNamesAsync(_backend.AzuriteConnectionString, _backend.Container)).Order());
    }

    [Fact]
    public async Task When_azurite_no_longer_accepts_the_account_key_uploads_answer_503_and_readiness_names_the_error_code_until_it_does_again()
    {
        _backend = await ProductionBackend.CreateAsync(azuriteConnectionString: await _servers.StartAsync(OwnServers.Azurite));
        var service = _backend.NewInstance();
        var client = service.CreateBotClient();
        var anonymous = service.CreateAnonymousClient();
        var consentId = await client.CreateConsentAsync();
        var before = await client.UploadOkAsync(consentId, Corpus.Read("jpg_Canon_40D.jpg"));

        // The account's key rotated under the running service: same Azurite, same data, another key.
        await _servers.StopAsync(OwnServers.Azurite);
        await _servers.StartAsync(OwnServers.Azurite, new Dictionary<string, string> { ["AZURITE_ACCOUNTS"] = "devstoreaccount1:" + Convert.ToBase64String(new byte[64]) });

        var refused = await client.UploadAsync(consentId, Corpus.Read("jpg_Nikon_D70.jpg"));
        var problem = await refused.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "service-unavailable");
        Assert.DoesNotContain("Authorization", problem.Detail, StringComparison.Ordinal);
        Assert.Equal("5", refused.Headers.RetryAfter?.ToString());
        await (await anonymous.GetAsync(ApiClient.PathOf(before.Link.Url))).AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "service-unavailable");
        var ready = await anonymous.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var blobStore = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("checks").GetProperty("blobStore");
        Assert.Equal("Unhealthy", blobStore.GetProperty("status").GetString());
        Assert.Equal("The blob store is not answering (AuthorizationFailure).", blobStore.GetProperty("description").GetString());
        Assert.Equal(1, await _backend.CountAsync("FROM images"));

        await _servers.StopAsync(OwnServers.Azurite);
        await _servers.StartAsync(OwnServers.Azurite);

        var after = await client.UploadOkAsync(consentId, Corpus.Read("jpg_Nikon_D70.jpg"));
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(ApiClient.PathOf(before.Link.Url))).StatusCode);
        Assert.Equal(
            new[] { await _backend.BlobNameOfAsync(before.Id), await _backend.BlobNameOfAsync(after.Id) }.Order(),
            (await OfficialBlobClient.ListBlobNamesAsync(_backend.AzuriteConnectionString, _backend.Container)).Order());
    }

    [Fact]
    public async Task While_postgres_is_down_the_service_answers_503_and_writes_nothing_then_works_again_when_it_returns()
    {
        _backend = await ProductionBackend.CreateAsync(postgresConnectionString: await _servers.StartAsync(OwnServers.Postgres));
        var service = _backend.NewInstance();
        var client = service.CreateBotClient();
        var anonymous = service.CreateAnonymousClient();
        var consentId = await client.CreateConsentAsync();
        var before = await client.UploadOkAsync(consentId, Corpus.Read("jpg_Canon_40D.jpg"));

        await _servers.StopAsync(OwnServers.Postgres);

        var refused = await client.UploadAsync(consentId, Corpus.Read("jpg_Nikon_D70.jpg"));
        await refused.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "service-unavailable");
        Assert.Equal("5", refused.Headers.RetryAfter?.ToString());
        await (await anonymous.GetAsync(ApiClient.PathOf(before.Link.Url))).AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "service-unavailable");
        await (await client.GetAsync($"/v1/images/{before.Id}")).AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "service-unavailable");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await anonymous.GetAsync("/health/ready")).StatusCode);

        await _servers.StartAsync(OwnServers.Postgres);

        // The first request after the restart already works: the same service, the same pool, no restart.
        var after = await client.UploadOkAsync(consentId, Corpus.Read("jpg_Nikon_D70.jpg"));
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(ApiClient.PathOf(before.Link.Url))).StatusCode);
        Assert.Equal(2, await _backend.CountAsync("FROM images"));
        Assert.Equal(2, await _backend.CountAsync("FROM audit_events WHERE kind = 'image.uploaded'"));

        // The refused upload left no blob behind: the container holds exactly the committed images.
        Assert.Equal(
            new[] { await _backend.BlobNameOfAsync(before.Id), await _backend.BlobNameOfAsync(after.Id) }.Order(),
            (await OfficialBlobClient.ListBlobNamesAsync(_backend.AzuriteConnectionString, _backend.Container)).Order());
    }
}
