using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace SecureImage.Api.Security;

internal static class ApiKeyDefaults
{
    public const string Scheme = "ApiKey";
    public const string HeaderName = "X-Api-Key";
    public const string BotPolicy = "Bot";
    public const string BotClaim = "secureimage:bot";
}

/// <summary>Authenticates bots by <c>X-Api-Key</c>. Answers 401/403 as problems; never looks at cookies.</summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    BotRegistry bots,
    IProblemDetailsService problems)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(ApiKeyDefaults.HeaderName, out var values) || values.Count != 1 || string.IsNullOrEmpty(values[0]))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var botId = bots.FindBot(values[0]!);
        if (botId is null)
        {
            return Task.FromResult(AuthenticateResult.Fail("Unknown API key."));
        }

        var identity = new ClaimsIdentity([new Claim(ApiKeyDefaults.BotClaim, botId)], ApiKeyDefaults.Scheme);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), ApiKeyDefaults.Scheme)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = ApiKeyDefaults.HeaderName;
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails =
            {
                Status = StatusCodes.Status401Unauthorized,
                Type = Problems.Problems.Types.Unauthorized,
                Title = "Authentication required.",
                Detail = $"Send a valid bot API key in the {ApiKeyDefaults.HeaderName} header.",
            },
        });
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails =
            {
                Status = StatusCodes.Status403Forbidden,
                Type = Problems.Problems.Types.Forbidden,
                Title = "Forbidden.",
                Detail = "This credential may not call this endpoint.",
            },
        });
    }
}

internal static class BotPrincipal
{
    /// <summary>The authenticated bot's id; endpoints in the bot group always have one.</summary>
    public static string BotId(this ClaimsPrincipal user) =>
        user.FindFirstValue(ApiKeyDefaults.BotClaim) ?? throw new InvalidOperationException("No bot on this request.");
}
