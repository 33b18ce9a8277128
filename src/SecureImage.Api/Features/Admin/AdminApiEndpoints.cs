using System.Security.Claims;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using SecureImage.Api.Configuration;
using SecureImage.Api.Jobs;
using SecureImage.Api.Problems;
using SecureImage.Api.Security;
using SecureImage.Core;
using SecureImage.Core.Catalog;
using SecureImage.Core.Dashboard;
using SecureImage.Core.Retention;

namespace SecureImage.Api.Features.Admin;

internal sealed record SessionResponse(string User, string AdminId, string Role, string CsrfToken, string CsrfHeader, string CsrfField);

internal sealed record BotStorageBody(string BotId, long Images, long Bytes);

internal sealed record OverviewResponse(
    DateTimeOffset At,
    long ImagesStored,
    long BytesStored,
    IReadOnlyList<BotStorageBody> ByBot,
    long ExpiringWithinHour,
    long ExpiringWithinDay,
    long Held,
    long Blocked,
    long Overdue,
    DateTimeOffset? OldestOverdueExpiry,
    double SweepLagSeconds,
    double SweepIntervalSeconds,
    bool SweepLagHigh,
    DateTimeOffset? LastSweepAt);

internal sealed record SeriesBucketBody(
    DateTimeOffset Start,
    long Uploads,
    long Downloads,
    long Erasures,
    IReadOnlyDictionary<string, long> ErasuresByReason,
    long Rejections,
    IReadOnlyDictionary<string, long> RejectionsByReason);

internal sealed record SeriesResponse(string Bucket, DateTimeOffset From, DateTimeOffset To, IReadOnlyList<SeriesBucketBody> Buckets);

internal sealed record JobRunBody(string Job, string Instance, DateTimeOffset StartedAt, DateTimeOffset FinishedAt, double DurationMs, int Processed, int Failed, double? LagSeconds, string? ErrorCode);

internal sealed record AuditEventBody(long Seq, DateTimeOffset At, string Kind, string? BotId, Guid? ImageId, Guid? ConsentId, string Actor, string? Reason);

internal sealed record AuditResponse(IReadOnlyList<AuditEventBody> Events, long? NextBefore);

internal sealed record ImageSummary(Guid Id, string BotId, Guid ConsentId, string ContentType, long Bytes, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, string State, DateTimeOffset? ErasedAt, string? EraseReason);

internal sealed record ConsentSummary(Guid Id, string BotId, string Purpose, string PolicyVersion, string Source, DateTimeOffset GrantedAt, DateTimeOffset? WithdrawnAt);

internal sealed record HistoryEntry(DateTimeOffset At, string Kind, string Actor, string? Reason, Guid? ImageId, Guid? ConsentId);

internal sealed record LookupResponse(Guid Id, string Type, ImageSummary? Image, ConsentSummary? Consent, IReadOnlyList<HistoryEntry> History);

internal sealed record HeldImageBody(Guid ImageId, string BotId, DateTimeOffset HeldAt, string? HoldReason, DateTimeOffset ExpiresAt);

internal sealed record ReleaseRequest(string? Reason);

internal sealed record ReleaseResponse(Guid ImageId, string Status, string Actor);

/// <summary>
/// The dashboard's JSON API under /admin/api (admin session only; also useful to scripts that keep the
/// cookie). Figures come from <see cref="IDashboardQueries"/> and the job records; never image bytes,
/// keys or subject hashes. POSTs carry the anti-forgery token in the <c>X-CSRF-Token</c> header.
/// </summary>
internal static partial class AdminApiEndpoints
{
    public const string AntiforgeryProblem = Problems.Problems.Prefix + "antiforgery-token-invalid";
    public const int MaxBuckets = 1000;
    public const int MaxCsvRows = 100_000;
    public const int MaxReasonLength = 500;

    /// <summary>
    /// The dates the dashboard accepts in <c>from</c> and <c>to</c> (inclusive): no audit event is older than the Unix
    /// epoch, and the bound keeps bucket arithmetic (a day or 30 days either side) inside what a date can hold.
    /// </summary>
    public static readonly DateTimeOffset EarliestDate = DateTimeOffset.UnixEpoch;

    public static readonly DateTimeOffset LatestDate = new(9999, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static RouteGroupBuilder MapAdminApiEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup(AdminDefaults.ApiPath).RequireAuthorization(AdminDefaults.Policy).WithTags("Admin");
        group.MapGet("/session", GetSession).WithName("AdminSession").WithSummary("The signed-in admin and an anti-forgery token for POSTs.");
        group.MapGet("/overview", GetOverviewAsync).WithName("AdminOverview").WithSummary("Stored images by bot, expiring soon, held, blocked, overdue and sweep lag.");
        group.MapGet("/series", GetSeriesAsync).WithName("AdminSeries").WithSummary("Uploads, downloads, erasures and rejections by reason per hour or day.");
        group.MapGet("/jobs", GetJobsAsync).WithName("AdminJobs").WithSummary("Recent runs of the retention sweep, the reconciliation and the job-run purge, newest first.");
        group.MapGet("/lookup/{id:guid}", LookupAsync).WithName("AdminLookup").WithSummary("The life of one image or consent from the audit log.");
        group.MapGet("/audit", GetAuditAsync).WithName("AdminAudit").WithSummary("The audit log, newest first, filtered and keyset-paged.");
        group.MapGet("/audit.csv", ExportAuditCsvAsync).WithName("AdminAuditCsv").WithSummary("The filtered audit log as CSV.");
        group.MapGet("/holds", GetHoldsAsync).WithName("AdminHolds").WithSummary("Images on legal hold.");
        group.MapPost("/holds/{id:guid}/release", ReleaseHoldAsync).WithName("AdminReleaseHold").WithSummary("Release a legal hold; JSON {reason} is required. Operators only.")
            .RequireAuthorization(AdminRoles.OperatorPolicy)
            .AddEndpointFilter(ValidateAntiforgeryAsync);
        return group;
    }

    public static Ok<SessionResponse> GetSession(HttpContext context, IAntiforgery antiforgery)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        var user = context.User;
        return TypedResults.Ok(new SessionResponse(
            user.FindFirstValue(ClaimTypes.Name) ?? "", AdminUser(user), AdminRoles.RoleOf(user) ?? "", tokens.RequestToken ?? "", AdminDefaults.AntiforgeryHeader, tokens.FormFieldName));
    }

    public static async Task<Ok<OverviewResponse>> GetOverviewAsync(
        IDashboardQueries dashboard, RetentionMetrics metrics, IOptions<RetentionOptions> retention, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var now = timeProvider.UtcNowMilliseconds();
        var overview = await dashboard.GetOverviewAsync(now, cancellationToken);
        var lag = overview.OldestOverdueExpiry is { } oldest ? now - oldest : TimeSpan.Zero;
        var interval = retention.Value.SweepInterval;
        return TypedResults.Ok(new OverviewResponse(
            now,
            overview.Stored.Sum(s => s.Images),
            overview.Stored.Sum(s => s.Bytes),
            [.. overview.Stored.Select(s => new BotStorageBody(s.BotId, s.Images, s.Bytes))],
            overview.ExpiringWithinHour,
            overview.ExpiringWithinDay,
            overview.Held,
            overview.Blocked,
            overview.Overdue,
            overview.OldestOverdueExpiry,
            Math.Round(lag.TotalSeconds, 3),
            interval.TotalSeconds,
            lag > 2 * interval,
            metrics.LastSweepAt));
    }

    public static async Task<Results<Ok<SeriesResponse>, ProblemHttpResult>> GetSeriesAsync(
        string? bucket, DateTimeOffset? from, DateTimeOffset? to, IDashboardQueries dashboard, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        SeriesBucket size;
        switch (bucket)
        {
            case null or "" or "hour":
                size = SeriesBucket.Hour;
                break;
            case "day":
                size = SeriesBucket.Day;
                break;
            default:
                return Problems.Problems.BadRequest("bucket must be 'hour' or 'day'.");
        }

        if (DateRangeProblem(from, to) is { } outOfRange)
        {
            return outOfRange;
        }

        var width = DashboardSeries.Width(size);
        var end = DashboardSeries.Floor(to ?? timeProvider.GetUtcNow(), size) + (to is null ? width : TimeSpan.Zero);
        var start = DashboardSeries.Floor(from ?? end - ((size == SeriesBucket.Hour ? 24 : 30) * width), size);
        if (start >= end || (end - start) / width > MaxBuckets)
        {
            return Problems.Problems.BadRequest($"from must be before to, and the range at most {MaxBuckets} buckets.");
        }

        var counts = await dashboard.GetSeriesAsync(start, end, size, cancellationToken);
        var byBucket = counts.ToLookup(c => c.BucketStart.UtcTicks);
        var buckets = new List<SeriesBucketBody>();
        for (var at = start; at < end; at += width)
        {
            var here = byBucket[at.UtcTicks].ToList();
            buckets.Add(new SeriesBucketBody(
                at,
                Sum(here, AuditKinds.ImageUploaded),
                Sum(here, AuditKinds.ImageDownloaded),
                Sum(here, AuditKinds.ImageErased),
                ByReason(here, AuditKinds.ImageErased),
                Sum(here, AuditKinds.UploadRejected),
                ByReason(here, AuditKinds.UploadRejected)));
        }

        return TypedResults.Ok(new SeriesResponse(size == SeriesBucket.Hour ? "hour" : "day", start, end, buckets));
    }

    public static async Task<Ok<IReadOnlyList<JobRunBody>>> GetJobsAsync(int? count, IRetentionCatalog retention, CancellationToken cancellationToken)
    {
        var runs = await retention.GetRecentJobRunsAsync(Math.Clamp(count ?? 50, 1, 500), cancellationToken);
        return TypedResults.Ok<IReadOnlyList<JobRunBody>>([.. runs.Select(r => new JobRunBody(
            r.Job, r.Instance, r.StartedAt, r.FinishedAt, (r.FinishedAt - r.StartedAt).TotalMilliseconds, r.Processed, r.Failed, r.Lag?.TotalSeconds, r.ErrorCode))]);
    }

    public static async Task<Results<Ok<LookupResponse>, ProblemHttpResult>> LookupAsync(Guid id, IImageCatalog catalog, CancellationToken cancellationToken)
    {
        var image = await catalog.FindImageAsync(id, cancellationToken);
        var consent = image is null ? await catalog.FindConsentAsync(id, cancellationToken) : null;
        var history = await catalog.GetHistoryAsync(id, cancellationToken);
        if (image is null && consent is null && history.Count == 0)
        {
            return Problems.Problems.Make(StatusCodes.Status404NotFound, Problems.Problems.Types.NotFound, "Not found.", "No image or consent with this id is in the catalog or the audit log.");
        }

        return TypedResults.Ok(new LookupResponse(
            id,
            image is not null ? "image" : consent is not null ? "consent" : "erased-record",
            image is null ? null : new ImageSummary(image.Id, image.BotId, image.ConsentId, image.ContentType, image.Bytes, image.CreatedAt, image.ExpiresAt, image.State.ToString().ToLowerInvariant(), image.ErasedAt, image.EraseReason),
            consent is null ? null : new ConsentSummary(consent.Id, consent.BotId, consent.Purpose, consent.PolicyVersion, consent.Source, consent.GrantedAt, consent.WithdrawnAt),
            [.. history.Select(e => new HistoryEntry(e.At, e.Kind, e.Actor, e.Reason, e.ImageId, e.ConsentId))]));
    }

    public static async Task<Results<Ok<AuditResponse>, ProblemHttpResult>> GetAuditAsync(
        DateTimeOffset? from, DateTimeOffset? to, string? kind, string? bot, long? before, int? limit, IDashboardQueries dashboard, CancellationToken cancellationToken)
    {
        if (AuditFilterProblem(from, to, kind, bot) is { } problem)
        {
            return problem;
        }

        var page = await dashboard.GetAuditPageAsync(new AuditQuery(from, to, Blank(kind), Blank(bot), before, Math.Clamp(limit ?? 100, 1, 500)), cancellationToken);
        return TypedResults.Ok(new AuditResponse([.. page.Entries.Select(ToBody)], page.NextBeforeSeq));
    }

    public static async Task<Results<EmptyHttpResult, ProblemHttpResult>> ExportAuditCsvAsync(
        DateTimeOffset? from, DateTimeOffset? to, string? kind, string? bot, HttpContext context, IDashboardQueries dashboard, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (AuditFilterProblem(from, to, kind, bot) is { } problem)
        {
            return problem;
        }

        var response = context.Response;
        response.ContentType = "text/csv; charset=utf-8";
        response.Headers.ContentDisposition = $"attachment; filename=\"audit-{timeProvider.GetUtcNow():yyyyMMdd-HHmmss}.csv\"";
        await using var writer = new StreamWriter(response.Body, new System.Text.UTF8Encoding(false), leaveOpen: true);
        await writer.WriteAsync(AuditCsv.Header);
        long? before = null;
        var written = 0;
        do
        {
            var page = await dashboard.GetAuditPageAsync(new AuditQuery(from, to, Blank(kind), Blank(bot), before, 1000), cancellationToken);
            foreach (var entry in page.Entries.Take(MaxCsvRows - written))
            {
                await writer.WriteAsync(AuditCsv.Row(ToBody(entry)));
                written++;
            }

            before = page.NextBeforeSeq;
        }
        while (before is not null && written < MaxCsvRows);

        await writer.FlushAsync(cancellationToken);
        return TypedResults.Empty;
    }

    public static async Task<Ok<IReadOnlyList<HeldImageBody>>> GetHoldsAsync(IDashboardQueries dashboard, CancellationToken cancellationToken)
    {
        var held = await dashboard.GetHeldImagesAsync(500, cancellationToken);
        return TypedResults.Ok<IReadOnlyList<HeldImageBody>>([.. held.Select(h => new HeldImageBody(h.ImageId, h.BotId, h.HeldAt, h.HoldReason, h.ExpiresAt))]);
    }

    public static async Task<Results<Ok<ReleaseResponse>, ProblemHttpResult>> ReleaseHoldAsync(
        Guid id, HttpRequest request, IRetentionCatalog retention, TimeProvider timeProvider, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonRequestBody.ReadAsync<ReleaseRequest>(request, "Send application/json: {\"reason\": \"…\"}.", cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        var reason = body?.Reason?.Trim() ?? "";
        if (reason.Length == 0 || reason.Length > MaxReasonLength || HasControlCharacter(reason))
        {
            return Problems.Problems.BadRequest($"A reason (1–{MaxReasonLength} characters, no control characters) is required to release a legal hold.");
        }

        var user = AdminUser(request.HttpContext.User);
        var actor = AdminRoles.Actor(request.HttpContext.User);
        if (!await retention.ReleaseHoldAsync(id, actor, reason, timeProvider.UtcNowMilliseconds(), cancellationToken))
        {
            return Problems.Problems.Make(StatusCodes.Status404NotFound, Problems.Problems.Types.NotFound, "Not found.", "No image with this id is on legal hold.");
        }

        LogHoldReleased(loggerFactory.CreateLogger(typeof(AdminApiEndpoints)), id, AdminAccounts.OpaqueId(user));
        return TypedResults.Ok(new ReleaseResponse(id, "released", actor));
    }

    /// <summary>POSTs from the page carry the anti-forgery token in a header; a missing or wrong token is a 400 problem.</summary>
    private static async ValueTask<object?> ValidateAntiforgeryAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var antiforgery = context.HttpContext.RequestServices.GetRequiredService<IAntiforgery>();
        if (!await antiforgery.IsRequestValidAsync(context.HttpContext))
        {
            return AntiforgeryRefused();
        }

        return await next(context);
    }

    /// <summary>The answer to a dashboard POST (here and on /admin/jobs) without a valid anti-forgery token.</summary>
    public static ProblemHttpResult AntiforgeryRefused() =>
        Problems.Problems.Make(StatusCodes.Status400BadRequest, AntiforgeryProblem, "The anti-forgery token is missing or not valid.", $"Reload the dashboard and try again; POSTs need the {AdminDefaults.AntiforgeryHeader} header from /admin/api/session.");

    private static ProblemHttpResult? AuditFilterProblem(DateTimeOffset? from, DateTimeOffset? to, string? kind, string? bot) =>
        DateRangeProblem(from, to)
        ?? (from is not null && to is not null && from >= to ? Problems.Problems.BadRequest("from must be before to.")
        : kind?.Length > 64 || bot?.Length > 64 || HasControlCharacter(kind) || HasControlCharacter(bot) ? Problems.Problems.BadRequest("kind and bot are at most 64 characters, without control characters.")
        : null);

    private static ProblemHttpResult? DateRangeProblem(DateTimeOffset? from, DateTimeOffset? to) =>
        from < EarliestDate || from > LatestDate || to < EarliestDate || to > LatestDate
            ? Problems.Problems.BadRequest($"from and to must lie between {EarliestDate:yyyy-MM-dd} and {LatestDate:yyyy-MM-dd} (UTC).")
            : null;

    // PostgreSQL text cannot hold U+0000: such a value would fail in the database (a 503) instead of being refused.
    private static bool HasControlCharacter(string? value) => value is not null && value.Any(char.IsControl);

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static AuditEventBody ToBody(AuditEntry entry) =>
        new(entry.Seq, entry.Event.At, entry.Event.Kind, entry.Event.BotId, entry.Event.ImageId, entry.Event.ConsentId, entry.Event.Actor, entry.Event.Reason);

    private static long Sum(List<SeriesCount> counts, string kind) => counts.Where(c => c.Kind == kind).Sum(c => c.Count);

    private static Dictionary<string, long> ByReason(List<SeriesCount> counts, string kind) =>
        counts.Where(c => c.Kind == kind).GroupBy(c => c.Reason ?? "unknown", StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Sum(c => c.Count), StringComparer.Ordinal);

    private static string AdminUser(ClaimsPrincipal user) =>
        user.FindFirstValue(AdminDefaults.AdminClaim) ?? throw new InvalidOperationException("No admin on this request.");

    [LoggerMessage(Level = LogLevel.Information, Message = "Admin {AdminId} released the legal hold on image {ImageId}.")]
    private static partial void LogHoldReleased(ILogger logger, Guid imageId, string adminId);
}
