using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using SecureImage.Api.Problems;
using SecureImage.Api.Security;
using SecureImage.Api.Telemetry;
using SecureImage.Core;
using SecureImage.Core.Catalog;
using SecureImage.Core.Crypto;
using SecureImage.Core.Retention;

namespace SecureImage.Api.Features.Consents;

internal sealed record CreateConsentRequest(string? SubjectId, string? Purpose, string? PolicyVersion);

internal sealed record ConsentCreatedResponse(Guid Id, DateTimeOffset GrantedAt);

internal sealed record ConsentResponse(Guid Id, string Purpose, string PolicyVersion, string Source, DateTimeOffset GrantedAt, DateTimeOffset? WithdrawnAt);

internal static partial class ConsentsEndpoints
{
    private const int MaxSubjectIdLength = 256;
    private const int MaxPurposeLength = 200;
    private const int MaxPolicyVersionLength = 64;

    public static RouteGroupBuilder MapConsentsEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/consents").RequireAuthorization(ApiKeyDefaults.BotPolicy).WithTags("Consents");
        group.MapPost("/", CreateConsentAsync).WithName("CreateConsent").WithSummary("Record a consent.");
        group.MapGet("/{id:guid}", GetConsentAsync).WithName("GetConsent").WithSummary("Read a consent's state.");
        group.MapDelete("/{id:guid}", WithdrawConsentAsync).WithName("WithdrawConsent")
            .WithSummary("Withdraw a consent: every image under it becomes unavailable at once and is erased.");
        return group;
    }

    public static async Task<Results<Created<ConsentCreatedResponse>, ProblemHttpResult>> CreateConsentAsync(
        HttpRequest request, ClaimsPrincipal user, IImageCatalog catalog, SubjectHasher hasher, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonRequestBody.ReadAsync<CreateConsentRequest>(
            request, "Send the consent as application/json: {\"subjectId\", \"purpose\", \"policyVersion\"}.", cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        if (body is null)
        {
            return Problems.Problems.BadRequest("The body is empty.");
        }

        var error = Required(body.SubjectId, "subjectId", MaxSubjectIdLength)
            ?? Required(body.Purpose, "purpose", MaxPurposeLength)
            ?? Required(body.PolicyVersion, "policyVersion", MaxPolicyVersionLength)
            ?? NoControlCharacters(body.Purpose!, "purpose")
            ?? NoControlCharacters(body.PolicyVersion!, "policyVersion");
        if (error is not null)
        {
            return Problems.Problems.BadRequest(error);
        }

        var botId = user.BotId();
        var consent = new ConsentRecord(
            Guid.NewGuid(),
            botId,
            hasher.Hash(botId, body.SubjectId!),
            body.Purpose!,
            body.PolicyVersion!,
            ConsentSources.Api,
            timeProvider.UtcNowMilliseconds(),
            WithdrawnAt: null);
        await catalog.AddConsentAsync(consent, cancellationToken);
        return TypedResults.Created($"/v1/consents/{consent.Id}", new ConsentCreatedResponse(consent.Id, consent.GrantedAt));
    }

    public static async Task<Results<Ok<ConsentResponse>, ProblemHttpResult>> GetConsentAsync(
        Guid id, ClaimsPrincipal user, IImageCatalog catalog, CancellationToken cancellationToken)
    {
        var consent = await catalog.FindConsentAsync(id, cancellationToken);
        if (consent is null || consent.BotId != user.BotId())
        {
            return Problems.Problems.NotFound("consent");
        }

        return TypedResults.Ok(new ConsentResponse(consent.Id, consent.Purpose, consent.PolicyVersion, consent.Source, consent.GrantedAt, consent.WithdrawnAt));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> WithdrawConsentAsync(
        Guid id, ClaimsPrincipal user, IImageCatalog catalog, ImageEraser eraser, ServiceMetrics metrics, TimeProvider timeProvider, ILogger<ConsentLog> logger, CancellationToken cancellationToken)
    {
        var botId = user.BotId();
        var consent = await catalog.FindConsentAsync(id, cancellationToken);
        if (consent is null || consent.BotId != botId)
        {
            return Problems.Problems.NotFound("consent");
        }

        // From this commit on, every image under the consent is expired: no link serves it. Images on
        // legal hold keep their blob and are erased once the hold is released.
        var withdrawal = await catalog.WithdrawConsentAsync(id, $"bot:{botId}", timeProvider.UtcNowMilliseconds(), cancellationToken) ?? new ConsentWithdrawal([], 0);
        foreach (var image in withdrawal.ToErase)
        {
            if (await eraser.EraseAsync(image, $"bot:{botId}", cancellationToken))
            {
                metrics.Erased(image.Reason);
            }
        }

        Log.ConsentWithdrawn(logger, id, withdrawal.ToErase.Count, withdrawal.Held);
        return TypedResults.NoContent();
    }

    private static string? Required(string? value, string name, int maxLength) =>
        string.IsNullOrWhiteSpace(value) ? $"'{name}' is required."
        : value.Length > maxLength ? $"'{name}' may be at most {maxLength} characters."
        : null;

    // Purpose and policy version are stored as given (the subject id only as a hash); PostgreSQL text cannot hold U+0000.
    private static string? NoControlCharacters(string value, string name) =>
        value.Any(char.IsControl) ? $"'{name}' may not contain control characters." : null;

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Consent {ConsentId} withdrawn; {ImageCount} images erased, {HeldCount} on legal hold erased after release.")]
        public static partial void ConsentWithdrawn(ILogger logger, Guid consentId, int imageCount, int heldCount);
    }
}

/// <summary>Logger category for consent events.</summary>
internal sealed class ConsentLog;
