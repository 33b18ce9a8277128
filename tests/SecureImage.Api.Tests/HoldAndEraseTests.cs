using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using SecureImage.Api.Tests.TestSupport;
using SecureImage.Core.Blobs;
using SecureImage.Core.Catalog;
using SecureImage.Core.Retention;
using Xunit.Abstractions;

namespace SecureImage.Api.Tests;

/// <summary>
/// A legal hold and an erase decided at the same time on one image: exactly one wins, atomically, and
/// a held image never loses its blob. Embedded default (SQLite + files); the PostgreSQL + Azurite
/// rounds are in PostgresAzuriteEndToEndTests.
/// </summary>
public sealed class HoldAndEraseTests(ITestOutputHelper output)
{
    private const int Rounds = 200;

    /// <summary>No sweep runs by itself during these tests (the clock is frozen, the interval long).</summary>
    private static readonly Dictionary<string, string?> NoBackgroundSweep = new() { ["SecureImage:Retention:SweepInterval"] = "01:00:00" };

    [Fact]
    public async Task A_report_and_a_delete_sent_together_leave_either_an_erased_image_or_a_held_one_with_its_blob()
    {
        using var factory = new SecureImageFactory("Testing", NoBackgroundSweep);

        var race = await ReportEraseRace.RunAsync(factory, factory, EraseRequest.Delete, Rounds);

        race.AssertNoRoundBrokeTheRule(output);
    }

    [Fact]
    public async Task A_report_and_a_consent_withdrawal_sent_together_leave_either_an_erased_image_or_a_held_one_with_its_blob()
    {
        using var factory = new SecureImageFactory("Testing", NoBackgroundSweep);

        var race = await ReportEraseRace.RunAsync(factory, factory, EraseRequest.ConsentWithdrawal, Rounds);

        race.AssertNoRoundBrokeTheRule(output);
    }

    [Fact]
    public async Task Reporting_an_expired_image_the_sweep_has_not_reached_answers_410_and_places_no_hold()
    {
        using var factory = new SecureImageFactory("Testing", NoBackgroundSweep);
        var client = factory.CreateBotClient();
        var uploaded = await client.UploadOkAsync(await client.CreateConsentAsync(), Corpus.Read("jpg_Canon_40D.jpg"));

        factory.Time.Set(uploaded.ExpiresAt);
        var report = await client.PostAsJsonAsync($"/v1/images/{uploaded.Id}/reports", new { reason = "privacy" });

        await report.AssertProblemAsync(HttpStatusCode.Gone, "image-gone");
        Assert.Equal("expired", (await client.GetFromJsonAsync<ImageBody>($"/v1/images/{uploaded.Id}"))!.Status);
        var history = await factory.Services.GetRequiredService<IImageCatalog>().GetHistoryAsync(uploaded.Id, CancellationToken.None);
        Assert.DoesNotContain(history, e => e.Kind == HoldAuditKinds.ImageHeld);

        await factory.Services.GetRequiredService<RetentionSweeper>().SweepAsync(CancellationToken.None);
        var erased = (await client.GetFromJsonAsync<ImageBody>($"/v1/images/{uploaded.Id}"))!;
        Assert.Equal(("erased", "retention"), (erased.Status, erased.EraseReason));
    }

    [Fact]
    public async Task A_report_arriving_while_the_sweep_deletes_the_blob_answers_410_even_on_an_instance_whose_clock_is_behind()
    {
        using var factory = new SecureImageFactory("Testing", NoBackgroundSweep);
        var client = factory.CreateBotClient();
        var uploaded = await client.UploadOkAsync(await client.CreateConsentAsync(), Corpus.Read("jpg_Canon_40D.jpg"));
        var catalog = factory.Services.GetRequiredService<IImageCatalog>();
        var blobName = (await catalog.FindImageAsync(uploaded.Id, CancellationToken.None))!.BlobName;

        // The sweep runs on another instance whose clock is a second past the expiry; this instance's
        // clock is a minute before it, so by its own clock the image has not expired yet.
        factory.Time.Set(uploaded.ExpiresAt.AddMinutes(-1));
        var blobs = new PausingBlobDeletes(factory.Services.GetRequiredService<IBlobStore>());
        var sweeperClock = new ManualTimeProvider(uploaded.ExpiresAt.AddSeconds(1));
        var sweep = new RetentionSweeper(factory.Services.GetRequiredService<IRetentionCatalog>(), blobs, sweeperClock, new RetentionSweepOptions()).SweepAsync(CancellationToken.None);
        await blobs.DeleteStarted.WaitAsync(TimeSpan.FromMinutes(1));

        var report = await client.PostAsync($"/v1/images/{uploaded.Id}/reports", null);
        blobs.Resume();
        var result = await sweep;

        var row = (await catalog.FindImageAsync(uploaded.Id, CancellationToken.None))!;
        Assert.Equal((ImageState.Erased, EraseReasons.Retention, 1), (row.State, row.EraseReason, result.Erased));
        await Assert.ThrowsAsync<BlobNotFoundException>(() => factory.Services.GetRequiredService<IBlobStore>().DownloadStreamingAsync(blobName, CancellationToken.None));
        await report.AssertProblemAsync(HttpStatusCode.Gone, "image-gone");
    }
}
