using Microsoft.Extensions.DependencyInjection;
using SecureImage.Api.Tests.TestSupport;
using SecureImage.Core.Catalog;

namespace SecureImage.Api.Tests.Jobs;

/// <summary>
/// The preview pass as a Hangfire job on Hangfire.PostgreSql, with two instances sharing the catalog, the blob store and
/// the job store: uploads on either get their previews, and the stored jobs carry no image id. And a restart after a
/// crash that left one of Hangfire's recurring-job locks behind.
/// </summary>
public sealed class PreviewPassJobTests
{
    [Fact]
    public async Task On_PostgreSQL_uploads_on_two_instances_get_their_previews_from_runs_of_the_shared_preview_pass_job()
    {
        await using var backend = await ProductionBackend.CreateAsync();
        var settings = new Dictionary<string, string?>
        {
            ["SecureImage:Imaging:PreviewOnUpload"] = "true",
            ["SecureImage:Jobs:QueuePollInterval"] = "00:00:00.200",
        };
        using var first = backend.NewInstance(settings);
        using var second = backend.NewInstance(settings);
        var one = first.CreateBotClient();
        var two = second.CreateBotClient();

        var uploads = await Task.WhenAll(
            one.UploadOkAsync(await one.CreateConsentAsync(), Corpus.Read("jpg_gps_DSCN0010.jpg")),
            two.UploadOkAsync(await two.CreateConsentAsync(), Corpus.Read("jpg_Canon_40D.jpg")));

        var catalog = first.Services.GetRequiredService<IImageCatalog>();
        foreach (var upload in uploads)
        {
            await Kakao.KakaoTestHost.EventuallyAsync(
                async () => (await catalog.FindImageAsync(upload.Id, CancellationToken.None))!.PreviewState is not null,
                seconds: 120,
                describe: async () => $"jobs: {await backend.CountAsync("FROM hangfire.job WHERE invocationdata::text LIKE '%PreviewPassJob%'")}");
            Assert.Equal(PreviewState.Ready, (await catalog.FindImageAsync(upload.Id, CancellationToken.None))!.PreviewState);
        }

        // The runs carry no argument, so neither image's id is in the job store.
        Assert.True(await backend.CountAsync("FROM hangfire.job WHERE invocationdata::text LIKE '%PreviewPassJob%'") >= 1);
        foreach (var upload in uploads)
        {
            Assert.Equal(0, await backend.CountAsync($"FROM hangfire.job WHERE invocationdata::text LIKE '%{upload.Id}%' OR arguments::text LIKE '%{upload.Id}%'"));
        }
    }

    [Fact]
    public async Task A_start_after_a_process_died_holding_a_recurring_job_lock_waits_for_the_lock_to_expire_instead_of_refusing()
    {
        await using var backend = await ProductionBackend.CreateAsync();
        var settings = new Dictionary<string, string?> { ["SecureImage:Jobs:DistributedLockTimeout"] = "00:00:25" };
        using (var first = backend.NewInstance(settings))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, (await first.CreateClient().GetAsync("/health/ready")).StatusCode);
        }

        // What a process killed while its scheduler queued an occurrence leaves: the lock row, with nobody to delete it.
        await backend.Database.ScalarAsync(
            "INSERT INTO hangfire.lock (resource, updatecount, acquired) VALUES ('hangfire:lock:recurring-job:retention-sweep', 0, now() AT TIME ZONE 'UTC');");

        using var second = backend.NewInstance(settings);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await second.CreateClient().GetAsync("/health/ready")).StatusCode);
        Assert.Contains(second.Logs.Entries, entry => entry.Message.Contains("lock is held", StringComparison.Ordinal));
    }
}
