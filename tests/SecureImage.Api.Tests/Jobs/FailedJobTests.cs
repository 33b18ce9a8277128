using Hangfire;
using Microsoft.Extensions.DependencyInjection;
using SecureImage.Api.Tests.TestSupport;
using SecureImage.Core.Blobs;
using SecureImage.Core.Catalog;
using SecureImage.Core.Diagnostics;
using SecureImage.Core.Retention;

namespace SecureImage.Api.Tests.Jobs;

/// <summary>
/// A sweep that throws what nobody expected: Hangfire stores the job as failed (and shows it on the dashboard)
/// by the exception's type, without its message, and does not retry it (the next occurrence is the retry);
/// the service's log has the stack trace, also without the message.
/// </summary>
public sealed class FailedJobTests
{
    private const string Secret = "kakao-user-8841-private";

    [Fact]
    public async Task A_sweep_that_fails_unexpectedly_is_stored_failed_once_without_the_exception_message_and_not_retried()
    {
        await FailedSweepScenarioAsync(message => new InvalidOperationException(message));
    }

    /// <summary>
    /// A cancellation the service did not ask for (no shutdown: something inside gave up and said why) is a
    /// failure to Hangfire like any other, so it is stored, and it must be stored without its message too.
    /// </summary>
    [Fact]
    public async Task A_sweep_cancelled_by_something_other_than_shutdown_is_stored_failed_without_the_exception_message()
    {
        await FailedSweepScenarioAsync(message => new OperationCanceledException(message));
    }

    private static async Task FailedSweepScenarioAsync<TException>(Func<string, TException> failure)
        where TException : Exception
    {
        using var factory = new SecureImageFactory("Testing", new Dictionary<string, string?>
        {
            ["SecureImage:Retention:SweepInterval"] = "1.00:00:00",
            ["SecureImage:Retention:ReconcileInterval"] = "1.00:00:00",
            ["SecureImage:Retention:JobRunPurgeInterval"] = "1.00:00:00",
        }, services: services =>
        {
            var original = services.Single(d => d.ServiceType == typeof(IBlobStore));
            services.Remove(original);
            services.AddSingleton<IBlobStore>(sp => new FailingDeletes((IBlobStore)original.ImplementationFactory!(sp), failure));
        });
        var client = factory.CreateBotClient();
        var uploaded = await client.UploadOkAsync(await client.CreateConsentAsync(), Corpus.Read("jpg_Canon_40D.jpg"));
        var blobName = (await factory.Services.GetRequiredService<IImageCatalog>().FindImageAsync(uploaded.Id, CancellationToken.None))!.BlobName;
        factory.Time.Set(uploaded.ExpiresAt);

        var jobId = factory.Services.GetRequiredService<IRecurringJobManagerV2>().TriggerJob(JobNames.RetentionSweep);

        var monitoring = factory.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (monitoring.FailedCount() == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the failing sweep was not stored as failed");
            await Task.Delay(100);
        }

        var failed = Assert.Single(monitoring.FailedJobs(0, 10)).Value;
        Assert.Equal(typeof(RedactedException).FullName, failed.ExceptionType);
        Assert.Equal(typeof(TException).FullName, failed.ExceptionMessage);
        foreach (var text in new[] { failed.ExceptionMessage, failed.ExceptionDetails })
        {
            Assert.DoesNotContain(Secret, text, StringComparison.Ordinal);
            Assert.DoesNotContain(blobName, text, StringComparison.Ordinal);
        }

        // Not retried: performed once, then failed, and nothing scheduled to run it again.
        var history = monitoring.JobDetails(jobId).History;
        Assert.Single(history, h => h.StateName == "Processing");
        Assert.Equal("Failed", history[0].StateName);
        Assert.Equal(0, monitoring.ScheduledCount());
        factory.Logs.AssertNoneContain(Secret, blobName);

        // The log has where it failed.
        var logged = Assert.Single(factory.Logs.AtLeast(Microsoft.Extensions.Logging.LogLevel.Error), e => e.Message.Contains(JobNames.RetentionSweep, StringComparison.Ordinal));
        Assert.Contains(nameof(FailingDeletes), Assert.IsType<RedactedException>(logged.Exception).StackTrace, StringComparison.Ordinal);
    }

    /// <summary>A blob store whose deletes throw an exception whose message quotes the blob and a user.</summary>
    private sealed class FailingDeletes(IBlobStore inner, Func<string, Exception> failure) : IBlobStore
    {
        public Task<bool> DeleteIfExistsAsync(string blobName, CancellationToken cancellationToken) =>
            throw failure($"cannot delete {blobName} of {Secret}");

        public Task CreateIfNotExistsAsync(CancellationToken cancellationToken) => inner.CreateIfNotExistsAsync(cancellationToken);

        public Task UploadAsync(string blobName, Stream content, CancellationToken cancellationToken) => inner.UploadAsync(blobName, content, cancellationToken);

        public Task UploadAsync(string blobName, Stream content, long? expectedLength, CancellationToken cancellationToken) => inner.UploadAsync(blobName, content, expectedLength, cancellationToken);

        public Task<Stream> DownloadStreamingAsync(string blobName, CancellationToken cancellationToken) => inner.DownloadStreamingAsync(blobName, cancellationToken);

        public IAsyncEnumerable<BlobItem> GetBlobsAsync(string? prefix, CancellationToken cancellationToken) => inner.GetBlobsAsync(prefix, cancellationToken);

        public Task CheckAvailableAsync(CancellationToken cancellationToken) => inner.CheckAvailableAsync(cancellationToken);
    }
}
