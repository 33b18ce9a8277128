using SecureImage.Core.Diagnostics;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.Features;
using SecureImage.Api.Security;
using SecureImage.Core.Kakao;

namespace SecureImage.Api.Features.Kakao;

/// <summary>
/// POST /kakao/skill: the Kakao i Open Builder skill endpoint for the secure image plugin. Bots
/// authenticate with X-Api-Key like every bot call (a 401 is a plain problem); every authenticated
/// request is answered 200 with a well-formed SkillResponse 2.0, whatever the payload, never a 500.
/// </summary>
internal static class KakaoEndpoints
{
    /// <summary>Skill payloads are a few KiB; anything much larger is not one.</summary>
    public const int MaxBodyBytes = 256 * 1024;

    public static RouteHandlerBuilder MapKakaoEndpoints(this IEndpointRouteBuilder routes) =>
        routes.MapPost("/kakao/skill", HandleSkillAsync)
            .RequireAuthorization(ApiKeyDefaults.BotPolicy)
            .WithTags("Kakao")
            .WithName("KakaoSkill")
            .WithSummary("Kakao i Open Builder skill for the secure image plugin; always answers a SkillResponse 2.0.")
            .Produces<SkillResponse>()
            .DisableAntiforgery();

    public static async Task<IResult> HandleSkillAsync(
        HttpRequest request,
        ClaimsPrincipal user,
        KakaoSkill skill,
        TimeProvider timeProvider,
        ILogger<KakaoSkill> logger,
        CancellationToken cancellationToken)
    {
        var startedAt = timeProvider.GetTimestamp();
        SkillResponse response;
        try
        {
            var body = await ReadBodyAsync(request, logger, cancellationToken);
            var token = request.Headers[KakaoCallbacks.TokenHeader].FirstOrDefault();
            response = body is null
                ? KakaoReplies.Invalid()
                : await skill.HandleAsync(user.BotId(), body, token, startedAt, cancellationToken);
        }
        catch (Exception ex) when (!request.HttpContext.RequestAborted.IsCancellationRequested)
        {
            // Storage down or a bug: the chatbot still gets an answer it can show.
            KakaoLog.SkillFailed(logger, ex.GetType().Name, RedactedException.From(ex));
            response = KakaoReplies.Unavailable();
        }

        return TypedResults.Json(response, KakaoJson.Options);
    }

    /// <summary>
    /// The body, whatever its declared content type; null when over <see cref="MaxBodyBytes"/> or when it cannot be read
    /// (chunked framing Kestrel refuses, a body that stops arriving, trailers too large): the sender's fault, never an outage.
    /// </summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, ILogger logger, CancellationToken cancellationToken)
    {
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            // Read past our own limit by one byte only; the server's limit must not answer 413 first.
            limit.MaxRequestBodySize = null;
        }

        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        try
        {
            while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                buffer.Write(chunk, 0, read);
                if (buffer.Length > MaxBodyBytes)
                {
                    return null;
                }
            }
        }
        catch (Exception ex) when (ex is BadHttpRequestException or IOException && !request.HttpContext.RequestAborted.IsCancellationRequested)
        {
            // Kestrel's verdict carries its status (400, 408, 431); an IOException is framing it could not parse.
            KakaoLog.BodyUnreadable(logger, ex is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status400BadRequest);
            return null;
        }

        return buffer.ToArray();
    }
}
