using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SecureImage.Api.Tests.TestSupport;
using SecureImage.Core.Catalog;
using SecureImage.Core.Retention;

namespace SecureImage.Api.Tests;

public sealed class RetentionTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task The_retention_job_erases_an_image_once_it_has_expired()
    {
        using var factory = new SecureImageFactory("Testing", FastSweep());
        factory.Time.Flowing = true;
        var client = factory.CreateBotClient();
        var uploaded = await client.UploadOkAsync(await client.CreateConsentAsync(), Corpus.Read("jpg_Canon_40D.jpg"));

        factory.Time.Set(uploaded.ExpiresAt);
        var image = await WaitForStatusAsync(client, uploaded.Id, "erased");

        Assert.Equal("retention", image.EraseReason);
        var blobs = Directory.EnumerateFiles(Path.Combine(factory.DataDirectory, "blobs"), "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains(".partial", StringComparison.Ordinal));
        Assert.Empty(blobs);
        // The sweep records its run after the erase commits, so the status can turn before the run is listed.
        var retention = factory.Services.GetRequiredService<IRetentionCatalog>();
        var deadline = DateTime.UtcNow + Patience;
        IReadOnlyList<JobRun> runs;
        while (!(runs = await retention.GetRecentJobRunsAsync(50, CancellationToken.None)).Any(r => r.Job == JobNames.RetentionSweep && r.Processed == 1))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no sweep run recorded the erase: {string.Join(", ", runs)}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task A_reported_image_answers_451_is_not_swept_while_held_and_is_erased_after_release()
    {
        using var factory = new SecureImageFactory("Testing", FastSweep());
        factory.Time.Flowing = true;
        var client = factory.CreateBotClient();
        var uploaded = await client.UploadOkAsync(await client.CreateConsentAsync(), Corpus.Read("jpg_Canon_40D.jpg"));
        var anonymous = factory.CreateAnonymousClient();

        var report = await client.PostAsJsonAsync($"/v1/images/{uploaded.Id}/reports", new { reason = "privacy" });

        Assert.Equal(HttpStatusCode.Accepted, report.StatusCode);
        await (await anonymous.GetAsync(ApiClient.PathOf(uploaded.Link.Url))).AssertProblemAsync(HttpStatusCode.UnavailableForLegalReasons, "image-blocked");
        await (await client.PostAsync($"/v1/images/{uploaded.Id}/links", null)).AssertProblemAsync(HttpStatusCode.UnavailableForLegalReasons, "image-blocked");

        // Expired while held: several sweeps pass and it stays.
        factory.Time.Set(uploaded.ExpiresAt.AddHours(1));
        await WaitForSweepsAsync(factory, 3);
        Assert.Equal("held", (await client.GetFromJsonAsync<ImageBody>($"/v1/images/{uploaded.Id}"))!.Status);

        // A bot's delete does not override a legal hold either: it is accepted and waits for the release.
        var delete = await client.DeleteAsync($"/v1/images/{uploaded.Id}");
        Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        Assert.Equal($"/v1/images/{uploaded.Id}", delete.Headers.Location?.OriginalString);
        var deferred = await delete.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((uploaded.Id, "held"), (deferred.GetProperty("imageId").GetGuid(), deferred.GetProperty("status").GetString()));
        Assert.Equal("held", (await client.GetFromJsonAsync<ImageBody>($"/v1/images/{uploaded.Id}"))!.Status);

        var retention = factory.Services.GetRequiredService<IRetentionCatalog>();
        Assert.True(await retention.ReleaseHoldAsync(uploaded.Id, "admin:officer", "reviewed", factory.Time.GetUtcNow(), CancellationToken.None));
        var erased = await WaitForStatusAsync(client, uploaded.Id, "erased");

        Assert.Equal("deleted-by-bot", erased.EraseReason);
        var history = await factory.Services.GetRequiredService<IImageCatalog>().GetHistoryAsync(uploaded.Id, CancellationToken.None);
        var kinds = history.Select(e => e.Kind).ToList();
        Assert.Equal(1, kinds.Count(k => k == HoldAuditKinds.ImageHeld));
        Assert.Equal(1, kinds.Count(k => k == HoldAuditKinds.HoldReleased));
        Assert.Equal(1, kinds.Count(k => k == AuditKinds.ImageErased));
        Assert.Equal("privacy", history.Single(e => e.Kind == HoldAuditKinds.ImageHeld).Reason);
    }

    [Fact]
    public async Task A_report_reason_outside_the_known_codes_is_recorded_as_other()
    {
        using var factory = new SecureImageFactory();
        var client = factory.CreateBotClient();
        var uploaded = await client.UploadOkAsync(await client.CreateConsentAsync(), Corpus.Read("jpg_Canon_40D.jpg"));

        var response = await client.PostAsJsonAsync($"/v1/images/{uploaded.Id}/reports", new { reason = "my phone is 010-1234-5678" });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("other", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("reason").GetString());
        var history = await factory.Services.GetRequiredService<IImageCatalog>().GetHistoryAsync(uploaded.Id, CancellationToken.None);
        Assert.DoesNotContain(history, e => e.Reason?.Contains("010", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task Reports_without_a_body_work_and_bad_bodies_answer_4xx()
    {
        using var factory = new SecureImageFactory();
        var client = factory.CreateBotClient();
        var uploaded = await client.UploadOkAsync(await client.CreateConsentAsync(), Corpus.Read("jpg_Canon_40D.jpg"));

        await (await client.PostAsync($"/v1/images/{uploaded.Id}/reports", new StringContent("{oops", Encoding.UTF8, "application/json"))).AssertProblemAsync(HttpStatusCode.BadRequest, "bad-request");
        await (await client.PostAsync($"/v1/images/{uploaded.Id}/reports", new StringContent("reason=x", Encoding.UTF8, "text/plain"))).AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
        await (await client.PostAsync($"/v1/images/{Guid.NewGuid()}/reports", null)).AssertProblemAsync(HttpStatusCode.NotFound, "not-found");
        await (await factory.CreateBotClient(SecureImageFactory.BotBKey).PostAsync($"/v1/images/{uploaded.Id}/reports", null)).AssertProblemAsync(HttpStatusCode.NotFound, "not-found");
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync($"/v1/images/{uploaded.Id}/reports", null)).StatusCode);
    }

    [Fact]
    public async Task Readiness_reports_the_sweep_lag_and_degrades_when_retention_falls_behind()
    {
        using var factory = new SecureImageFactory("Testing", new Dictionary<string, string?> { ["SecureImage:Retention:SweepInterval"] = "01:00:00" });
        var client = factory.CreateBotClient();
        var uploaded = await client.UploadOkAsync(await client.CreateConsentAsync(), Corpus.Read("jpg_Canon_40D.jpg"));
        var anonymous = factory.CreateAnonymousClient();

        var before = await ReadinessAsync(anonymous);
        Assert.Equal(("Healthy", 0.0), (before.GetProperty("status").GetString(), before.GetProperty("data").GetProperty("sweepLagSeconds").GetDouble()));

        // No sweep runs for an hour; the image has been expired for three.
        factory.Time.Set(uploaded.ExpiresAt.AddHours(3));
        var after = await ReadinessAsync(anonymous);

        Assert.Equal("Degraded", after.GetProperty("status").GetString());
        Assert.Equal(3 * 3600, after.GetProperty("data").GetProperty("sweepLagSeconds").GetDouble());
    }

    [Fact]
    public async Task The_job_run_purge_deletes_job_runs_older_than_the_configured_history()
    {
        using var factory = new SecureImageFactory("Testing", new Dictionary<string, string?>
        {
            ["SecureImage:Retention:JobRunPurgeInterval"] = "00:00:01",
            ["SecureImage:Retention:JobRunHistory"] = "2.00:00:00",
        });
        factory.Time.Flowing = true;
        var retention = factory.Services.GetRequiredService<IRetentionCatalog>();
        // Whole milliseconds, as the catalog stores them, so the records compare equal after a round trip.
        var now = DateTimeOffset.FromUnixTimeMilliseconds(factory.Time.GetUtcNow().ToUnixTimeMilliseconds());
        var old = new JobRun(JobNames.RetentionSweep, "gone", now.AddDays(-3), now.AddDays(-3).AddSeconds(1), 1, 0, null, null);
        var recent = new JobRun(JobNames.RetentionSweep, "kept", now.AddDays(-1), now.AddDays(-1).AddSeconds(1), 1, 0, null, null);
        await retention.RecordJobRunAsync(old, CancellationToken.None);
        await retention.RecordJobRunAsync(recent, CancellationToken.None);

        // No check that `old` is listed first: the job runs every second and may already have purged it.
        var deadline = DateTime.UtcNow + Patience;
        IReadOnlyList<JobRun> runs;
        while ((runs = await retention.GetRecentJobRunsAsync(1000, CancellationToken.None)).Contains(old))
        {
            Assert.True(DateTime.UtcNow < deadline, "the old job run was not purged");
            await Task.Delay(100);
        }

        Assert.Contains(recent, runs);
        Assert.Contains(runs, r => r.Job == JobNames.JobRunPurge);
    }

    private static Dictionary<string, string?> FastSweep() => new()
    {
        ["SecureImage:Retention:SweepInterval"] = "00:00:01",
        ["SecureImage:Retention:ClaimLease"] = "00:00:01",
    };

    private static async Task<JsonElement> ReadinessAsync(HttpClient client)
    {
        var response = await client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("checks").GetProperty("retention");
    }

    private static async Task<ImageBody> WaitForStatusAsync(HttpClient client, Guid id, string status)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var image = (await client.GetFromJsonAsync<ImageBody>($"/v1/images/{id}"))!;
            if (image.Status == status || DateTime.UtcNow > deadline)
            {
                Assert.Equal(status, image.Status);
                return image;
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Waits until the instance has recorded <paramref name="count"/> more sweep runs.</summary>
    internal static async Task WaitForSweepsAsync(SecureImageFactory factory, int count)
    {
        var retention = factory.Services.GetRequiredService<IRetentionCatalog>();
        var baseline = (await retention.GetRecentJobRunsAsync(1000, CancellationToken.None)).Count(r => r.Job == JobNames.RetentionSweep);
        var deadline = DateTime.UtcNow + Patience;
        while ((await retention.GetRecentJobRunsAsync(1000, CancellationToken.None)).Count(r => r.Job == JobNames.RetentionSweep) < baseline + count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the retention job did not run (baseline {baseline}, now {(await retention.GetRecentJobRunsAsync(1000, CancellationToken.None)).Count(r => r.Job == JobNames.RetentionSweep)})");
            await Task.Delay(100);
        }
    }
}
