using System.Diagnostics;
using Microsoft.Extensions.Options;
using SecureImage.Api.Telemetry;
using SecureImage.Core;
using SecureImage.Core.Blobs;
using SecureImage.Core.Catalog;
using SecureImage.Core.Crypto;
using SecureImage.Core.Diagnostics;
using SecureImage.Core.Imaging;
using SecureImage.Core.Ingestion;
using SecureImage.Core.Kakao;

namespace SecureImage.Api.Features.Kakao;

/// <summary>
/// Drains the Kakao fetch queue: polls every <c>Kakao:PollInterval</c> and whenever signalled, runs up
/// to <c>Kakao:MaxConcurrentFetches</c> fetches at once. On start-up it picks up whatever a previous
/// process left (its leases expire); on shutdown it releases the fetches it was running.
/// </summary>
internal sealed class KakaoFetchWorker(
    IKakaoFetchQueue queue,
    KakaoFetchProcessor processor,
    KakaoFetchSignal signal,
    IOptions<KakaoOptions> options,
    TimeProvider timeProvider,
    ILogger<KakaoFetchWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var running = new List<Task>();
        while (!stoppingToken.IsCancellationRequested)
        {
            var wake = signal.Next;
            running.RemoveAll(t => t.IsCompleted);
            var free = settings.MaxConcurrentFetches - running.Count;
            if (free > 0)
            {
                IReadOnlyList<KakaoFetchClaim> claims;
                try
                {
                    // Not cancelled by shutdown: a claim committed while its answer was cancelled would hold the
                    // fetch for a whole lease. Claimed fetches see the stopping token and are released at once.
                    claims = await queue.ClaimDueAsync(timeProvider.GetUtcNow(), settings.FetchLease, free, CancellationToken.None);
                }
                catch (CatalogUnavailableException ex)
                {
                    KakaoLog.QueueUnavailable(logger, ex.InnerException?.GetType().Name ?? ex.GetType().Name);
                    claims = [];
                }

                running.AddRange(claims.Select(claim => Task.Run(() => processor.ProcessAsync(claim, stoppingToken), CancellationToken.None)));
                if (claims.Count == free)
                {
                    // Possibly more due: look again as soon as a slot frees up.
                    wake = Task.CompletedTask;
                }
            }

            var waits = new List<Task> { wake, Task.Delay(settings.PollInterval, timeProvider, stoppingToken) };
            if (running.Count >= settings.MaxConcurrentFetches)
            {
                waits[0] = Task.WhenAny(running);
            }

            await Task.WhenAny(waits);
        }

        await Task.WhenAll(running).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }
}

/// <summary>One claimed fetch: fetch safely → sanitize, encrypt, store → commit under the consent; or retry, or give up with a reason.</summary>
internal sealed class KakaoFetchProcessor(
    IKakaoFetchQueue queue,
    IImageCatalog catalog,
    ImageIngestion ingestion,
    KakaoImageFetcher fetcher,
    KakaoRequestTracker tracker,
    KakaoCallbackSignal callbackSignal,
    ServiceMetrics metrics,
    Previews.PreviewSignal previews,
    TimeProvider timeProvider,
    ILogger<KakaoFetchProcessor> logger)
{
    public const string Actor = "kakao-fetch";
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    /// <summary>Never throws: every outcome is recorded in the queue, or the lease runs out and the fetch is tried again.</summary>
    public async Task ProcessAsync(KakaoFetchClaim claim, CancellationToken stoppingToken)
    {
        var fetch = claim.Fetch;

        // A root span per attempt: fetch id, bot id, attempt, outcome and reason code. Never the image URL or the callback URL.
        using var activity = Tracing.Source.StartActivity("secureimage.kakao.fetch", ActivityKind.Internal, parentContext: default);
        activity?.SetTag(Tracing.Tags.FetchId, fetch.Id);
        activity?.SetTag(Tracing.Tags.RequestId, fetch.RequestId);
        activity?.SetTag(Tracing.Tags.BotId, fetch.BotId);
        activity?.SetTag(Tracing.Tags.Attempt, claim.Attempt);
        try
        {
            await RunAsync(claim, activity, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: hand the fetch back at once so the next process need not wait for the lease.
            activity?.SetTag(Tracing.Tags.Outcome, "released");
            await ReleaseQuietlyAsync(fetch.Id);
        }
        catch (Exception ex)
        {
            activity.Fail(Tracing.CodeOf(ex));
            KakaoLog.FetchCrashed(logger, fetch.Id, ex.GetType().Name, RedactedException.From(ex));
        }
    }

    private async Task RunAsync(KakaoFetchClaim claim, Activity? activity, CancellationToken stoppingToken)
    {
        var fetch = claim.Fetch;
        if (timeProvider.GetUtcNow() >= fetch.Deadline)
        {
            await GiveUpAsync(claim, activity, KakaoFetchErrors.Expired);
            return;
        }

        var consent = await catalog.FindConsentAsync(fetch.ConsentId, stoppingToken);
        if (consent is null || consent.IsWithdrawn || consent.BotId != fetch.BotId)
        {
            await GiveUpAsync(claim, activity, KakaoFetchErrors.NoConsent);
            return;
        }

        string? failure;
        bool permanent;
        try
        {
            var stored = await fetcher.FetchAsync(fetch.Url, ingestion.StoreAsync, stoppingToken);
            var image = await ingestion.CommitAsync(stored, consent, stoppingToken);
            previews.Wake();
            await queue.MarkDoneAsync(fetch.Id, image.Id, timeProvider.UtcNowMilliseconds(), CancellationToken.None);
            tracker.Report(fetch.RequestId, new KakaoImageOutcome(fetch.Position, image.Id, null));
            callbackSignal.Wake();
            activity?.SetTag(Tracing.Tags.Outcome, "stored");
            activity?.SetTag(Tracing.Tags.ImageId, image.Id);
            metrics.Uploaded("kakao", Tracing.FormatOf(image.ContentType));
            KakaoLog.FetchStored(logger, fetch.Id, image.Id, claim.Attempt);
            return;
        }
        catch (Exception) when (stoppingToken.IsCancellationRequested)
        {
            // Whatever a cancelled read surfaced as (OperationCanceledException, IOException, a truncated image),
            // it is shutdown, not a failed attempt: released, not counted or backed off.
            throw new OperationCanceledException(stoppingToken);
        }
        catch (Exception ex) when (Classify(ex) is { } classified)
        {
            (failure, permanent) = classified;
        }

        var delay = Backoff(claim.Attempt);
        var next = timeProvider.UtcNowMilliseconds() + delay;
        if (permanent || next >= fetch.Deadline)
        {
            await GiveUpAsync(claim, activity, failure);
            return;
        }

        activity?.SetTag(Tracing.Tags.Outcome, "retrying");
        activity?.SetTag(Tracing.Tags.Reason, failure);
        metrics.FetchFailed(failure, givenUp: false);
        KakaoLog.FetchRetrying(logger, fetch.Id, failure, claim.Attempt, delay);
        await queue.RescheduleAsync(fetch.Id, next, failure, CancellationToken.None);
    }

    /// <summary>A stable code and whether retrying could help; null for exceptions no fetch should swallow.</summary>
    private static (string Code, bool Permanent)? Classify(Exception ex) => ex switch
    {
        KakaoFetchRefusedException refused => (refused.Code, true),
        KakaoFetchStatusException { Status: 408 or 429 } => (KakaoFetchErrors.FetchFailed, false),
        KakaoFetchStatusException { Status: >= 400 and < 500 } => (KakaoFetchErrors.UrlRejected, true),
        KakaoFetchStatusException => (KakaoFetchErrors.FetchFailed, false),
        UploadTooLargeException => (KakaoFetchErrors.TooLarge, true),
        ImageRejectedException { Reason: ImageRejection.UnsupportedType } => (KakaoFetchErrors.BadType, true),
        ImageRejectedException => (KakaoFetchErrors.Malformed, true),
        ConsentNotInForceException => (KakaoFetchErrors.NoConsent, true),
        TimeoutException or UploadTimedOutException => (KakaoFetchErrors.Timeout, false),
        CatalogUnavailableException or BlobStoreUnavailableException or KeyProviderUnavailableException => (KakaoFetchErrors.StorageUnavailable, false),
        HttpRequestException or IOException => (KakaoFetchErrors.FetchFailed, false),
        _ => null,
    };

    /// <summary>1 s, 2 s, 4 s … at most 30 s: a few quick tries while the user waits, then patient ones until the URL expires.</summary>
    private static TimeSpan Backoff(int attempt) =>
        TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, Math.Pow(2, Math.Clamp(attempt - 1, 0, 10))));

    private async Task GiveUpAsync(KakaoFetchClaim claim, Activity? activity, string reason)
    {
        var fetch = claim.Fetch;
        activity?.SetTag(Tracing.Tags.Outcome, "given-up");
        activity?.SetTag(Tracing.Tags.Reason, reason);
        metrics.FetchFailed(reason, givenUp: true);
        var now = timeProvider.UtcNowMilliseconds();
        if (await queue.MarkFailedAsync(fetch.Id, reason, now, CancellationToken.None))
        {
            await catalog.AppendAuditAsync(new AuditEvent(now, AuditKinds.UploadRejected, fetch.BotId, null, fetch.ConsentId, Actor, $"kakao:{reason}"), CancellationToken.None);
        }

        tracker.Report(fetch.RequestId, new KakaoImageOutcome(fetch.Position, null, reason));
        callbackSignal.Wake();
        KakaoLog.FetchGivenUp(logger, fetch.Id, reason, claim.Attempt);
    }

    private async Task ReleaseQuietlyAsync(Guid fetchId)
    {
        try
        {
            await queue.RescheduleAsync(fetchId, timeProvider.UtcNowMilliseconds(), null, CancellationToken.None);
        }
        catch (CatalogUnavailableException)
        {
            // The lease runs out instead.
        }
    }
}
