using System.Net.Http.Json;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;
using SecureImage.Api.Tests.TestSupport;
using SecureImage.Core.Blobs;
using SecureImage.Core.Catalog;
using SecureImage.Core.Retention;

namespace SecureImage.Api.Tests.Jobs;

/// <summary>
/// The retention sweep as Hangfire runs it, every second, on the embedded default and on PostgreSQL + Azurite,
/// with the service's clock in the test's hand: nothing is erased a second early, each expired image is erased
/// once with one audit event, and the runs that follow find nothing more to do.
/// </summary>
public sealed class RetentionJobTests : IAsyncLifetime
{
    private const int Images = 3;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private ProductionBackend? _backend;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_backend is not null)
        {
            await _backend.DisposeAsync();
        }
    }

    [Fact]
    public async Task On_SQLite_the_Hangfire_sweep_erases_each_expired_image_once_at_its_expiry()
    {
        using var factory = new SecureImageFactory("Testing", EverySecond());

        await SweepScenarioAsync(factory);
    }

    [Fact]
    public async Task On_PostgreSQL_and_Azurite_the_Hangfire_sweep_erases_each_expired_image_once_at_its_expiry()
    {
        _backend = await ProductionBackend.CreateAsync();
        var settings = EverySecond();
        settings["SecureImage:Jobs:Schema"] = "jobs_under_test";
        foreach (var (key, value) in AdminSession.OfficerSettings())
        {
            settings[key] = value;
        }

        var factory = _backend.NewInstance(settings);

        await SweepScenarioAsync(factory);

        // Hangfire's store is in the configured schema of the catalog's database, created on first start.
        Assert.True(await _backend.CountAsync("FROM information_schema.tables WHERE table_schema = 'jobs_under_test' AND table_name = 'job'") == 1);
        Assert.True(await _backend.CountAsync("FROM jobs_under_test.job") > 0);
        Assert.Equal(0, await _backend.CountAsync("FROM information_schema.tables WHERE table_name LIKE 'qrtz%'"));

        // The dashboard does not describe the store (host and database name) in its footer.
        var admin = await factory.SignInAsync();
        var html = await admin.GetStringAsync("/admin/jobs/recurring");
        Assert.Contains(JobNames.RetentionSweep, html, StringComparison.Ordinal);
        Assert.DoesNotContain(_backend.Database.Name, html, StringComparison.Ordinal);
        Assert.DoesNotContain("PostgreSQL Server", html, StringComparison.Ordinal);
    }

    private static Dictionary<string, string?> EverySecond() => new() { ["SecureImage:Retention:SweepInterval"] = "00:00:01" };

    private static async Task SweepScenarioAsync(SecureImageFactory factory)
    {
        var client = factory.CreateBotClient();
        var consent = await client.CreateConsentAsync();
        var uploaded = new List<UploadBody>();
        for (var i = 0; i < Images; i++)
        {
            uploaded.Add(await client.UploadOkAsync(consent, Corpus.Read("jpg_Canon_40D.jpg")));
        }

        var catalog = factory.Services.GetRequiredService<IImageCatalog>();
        var blobNames = new List<string>();
        foreach (var image in uploaded)
        {
            blobNames.Add((await catalog.FindImageAsync(image.Id, CancellationToken.None))!.BlobName);
        }

        // A millisecond before expiry, two sweeps pass and leave every image.
        factory.Time.Set(uploaded.Max(u => u.ExpiresAt).AddMilliseconds(-1));
        await RetentionTests.WaitForSweepsAsync(factory, 2);
        Assert.All(await StatusesAsync(client, uploaded), s => Assert.Equal("active", s));

        // At expiry the next sweep erases them all; the sweeps after it find nothing.
        factory.Time.Set(uploaded.Max(u => u.ExpiresAt));
        var deadline = DateTime.UtcNow + Patience;
        while ((await StatusesAsync(client, uploaded)).Any(s => s != "erased"))
        {
            Assert.True(DateTime.UtcNow < deadline, "the Hangfire sweep did not erase the expired images");
            await Task.Delay(100);
        }

        await RetentionTests.WaitForSweepsAsync(factory, 3);
        var blobs = factory.Services.GetRequiredService<IBlobStore>();
        foreach (var (image, blobName) in uploaded.Zip(blobNames))
        {
            var history = await catalog.GetHistoryAsync(image.Id, CancellationToken.None);
            var erased = Assert.Single(history, e => e.Kind == AuditKinds.ImageErased);
            Assert.Equal((RetentionSweeper.Actor, EraseReasons.Retention), (erased.Actor, erased.Reason));
            Assert.False(await blobs.ExistsAsync(blobName));
        }

        var runs = await factory.Services.GetRequiredService<IRetentionCatalog>().GetRecentJobRunsAsync(1000, CancellationToken.None);
        Assert.Equal(Images, runs.Where(r => r.Job == JobNames.RetentionSweep).Sum(r => r.Processed));
        Assert.DoesNotContain(runs, r => r.ErrorCode is not null);
    }

    private static async Task<List<string>> StatusesAsync(HttpClient client, IEnumerable<UploadBody> images)
    {
        var statuses = new List<string>();
        foreach (var image in images)
        {
            statuses.Add((await client.GetFromJsonAsync<ImageBody>($"/v1/images/{image.Id}"))!.Status);
        }

        return statuses;
    }
}
