using System.Net;
using Microsoft.Extensions.DependencyInjection;
using SecureImage.Core.Blobs;
using SecureImage.Core.Catalog;
using SecureImage.Core.Retention;
using Xunit.Abstractions;

namespace SecureImage.Api.Tests.TestSupport;

/// <summary>A request that erases an image: how to send it, what it answers when it wins or loses to a hold, and the erase reason.</summary>
internal sealed record EraseRequest(Func<HttpClient, Guid, Guid, Task<HttpResponseMessage>> SendAsync, HttpStatusCode WhenErased, HttpStatusCode WhenHeld, string Reason)
{
    /// <summary>DELETE /v1/images/{id}: 204 once erased, 202 when a hold defers the erase until its release.</summary>
    public static EraseRequest Delete { get; } = new((client, imageId, _) => client.DeleteAsync($"/v1/images/{imageId}"), HttpStatusCode.NoContent, HttpStatusCode.Accepted, EraseReasons.DeletedByBot);

    /// <summary>DELETE /v1/consents/{id}: 204 either way (the consent is withdrawn; a held image is erased after release).</summary>
    public static EraseRequest ConsentWithdrawal { get; } = new((client, _, consentId) => client.DeleteAsync($"/v1/consents/{consentId}"), HttpStatusCode.NoContent, HttpStatusCode.NoContent, EraseReasons.ConsentWithdrawn);
}

internal sealed record RaceResult(IReadOnlyList<string> Violations, int HeldRounds, int ErasedRounds)
{
    /// <summary>How many rounds broke the rule (counted by what they ended in) and how many each side won, for the log and the assertion.</summary>
    public override string ToString() =>
        $"{Violations.Count} rounds broke the rule, {HeldRounds} ended held, {ErasedRounds} erased:\n" + string.Join('\n', Violations.CountBy(v => v).Select(g => $"  {g.Value} x {g.Key}"));

    public void AssertNoRoundBrokeTheRule(ITestOutputHelper output)
    {
        output.WriteLine(ToString());
        Assert.True(Violations.Count == 0, ToString());
    }
}

/// <summary>
/// Rounds of a report and an erase request sent at the same instant on one fresh image (and consent)
/// each. Exactly one may win, atomically: either the image is erased (report 410, blob gone, key
/// shredded) or it is held with its evidence intact (report 202, blob and key present) and is erased
/// once the hold is released.
/// </summary>
internal static class ReportEraseRace
{
    /// <summary>Runs the rounds; returns what each round that broke the rule ended in, and how many rounds each side won.</summary>
    public static async Task<RaceResult> RunAsync(SecureImageFactory reportingInstance, SecureImageFactory erasingInstance, EraseRequest erase, int rounds)
    {
        var reporter = reportingInstance.CreateBotClient();
        var eraser = erasingInstance.CreateBotClient();
        var catalog = reportingInstance.Services.GetRequiredService<IImageCatalog>();
        var blobs = reportingInstance.Services.GetRequiredService<IBlobStore>();
        var image = Corpus.Read("jpg_Canon_40D.jpg");
        var violations = new List<string>();
        var held = new List<(Guid Id, string BlobName)>();
        for (var round = 0; round < rounds; round++)
        {
            var consentId = await reporter.CreateConsentAsync();
            var uploaded = await reporter.UploadOkAsync(consentId, image);
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var report = Task.Run(async () =>
            {
                await start.Task;
                return await reporter.PostAsync($"/v1/images/{uploaded.Id}/reports", null);
            });
            var erasing = Task.Run(async () =>
            {
                await start.Task;
                return await erase.SendAsync(eraser, uploaded.Id, consentId);
            });
            start.SetResult();
            var (reported, erased) = (await report, await erasing);

            var row = (await catalog.FindImageAsync(uploaded.Id, CancellationToken.None))!;
            var blobPresent = await blobs.ExistsAsync(row.BlobName);
            var outcome = $"state {row.State}, blob {(blobPresent ? "present" : "gone")}, key {(row.WrappedKey is null ? "shredded" : "present")}, report {(int)reported.StatusCode}, erase request {(int)erased.StatusCode}";
            var expected = row.State switch
            {
                ImageState.Held => blobPresent && row.WrappedKey is not null && reported.StatusCode == HttpStatusCode.Accepted && erased.StatusCode == erase.WhenHeld,
                ImageState.Erased => !blobPresent && row.WrappedKey is null && reported.StatusCode == HttpStatusCode.Gone && erased.StatusCode == erase.WhenErased,
                _ => false,
            };
            if (!expected)
            {
                violations.Add(outcome);
            }
            else if (row.State == ImageState.Held)
            {
                held.Add((uploaded.Id, row.BlobName));
            }
        }

        // The deferred erase completes after release, for the request's reason.
        var retention = reportingInstance.Services.GetRequiredService<IRetentionCatalog>();
        var time = reportingInstance.Services.GetRequiredService<TimeProvider>();
        foreach (var (id, _) in held)
        {
            Assert.True(await retention.ReleaseHoldAsync(id, "admin:officer", "reviewed", time.GetUtcNow(), CancellationToken.None));
        }

        await reportingInstance.Services.GetRequiredService<RetentionSweeper>().SweepAsync(CancellationToken.None);
        foreach (var (id, blobName) in held)
        {
            var row = (await catalog.FindImageAsync(id, CancellationToken.None))!;
            if (row.State != ImageState.Erased || row.EraseReason != erase.Reason || await blobs.ExistsAsync(blobName))
            {
                violations.Add($"after release: state {row.State}, reason {row.EraseReason}");
            }
        }

        return new RaceResult(violations, held.Count, rounds - violations.Count - held.Count);
    }
}
