using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using SecureImage.Core.Admin;

namespace SecureImage.Api.Security;

/// <summary>
/// Keeps a provider's session honest about the account's role: every <c>Oidc:RoleRecheckInterval</c> one request of the
/// session redeems its refresh token at the provider's token endpoint and validates the ID token that comes back (signature,
/// issuer, audience, lifetime, the same subject). The session goes on only while that token still carries the role it began
/// with; a removed or changed role, a disabled account or a revoked grant ends it. A provider that cannot be reached is
/// retried every minute and the session is kept for <c>Oidc:RoleRecheckGrace</c> past the due recheck, then ended.
/// </summary>
internal sealed partial class OidcRoleRecheck(
    IOptionsMonitor<OpenIdConnectOptions> oidcOptions,
    IOptions<AdminOptions> adminOptions,
    IDataProtectionProvider dataProtection,
    IAdminSessionStore sessions,
    ILogger<OidcRoleRecheck> logger)
{
    private readonly IDataProtector _protector = dataProtection.CreateProtector("SecureImage.Admin.OidcRefreshToken.v1");

    /// <summary>Where the sign-in hands the token endpoint's refresh token to the session handler (never serialized).</summary>
    public const string RefreshTokenParameter = "secureimage:refresh-token";

    private static readonly TimeSpan RetryAfterFailure = TimeSpan.FromMinutes(1);

    private AdminOidcOptions Settings => adminOptions.Value.Oidc;

    /// <summary>The fields a new provider session starts with: its protected refresh token (null when the provider gave none) and its first recheck time.</summary>
    public (string? ProtectedRefreshToken, DateTimeOffset RecheckAfter) Start(string? refreshToken, string adminId, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(refreshToken))
        {
            LogNoRefreshToken(logger, AdminAccounts.OpaqueId(adminId));
            return (null, now + Settings.RoleRecheckInterval);
        }

        return (_protector.Protect(refreshToken), now + Settings.RoleRecheckInterval);
    }

    /// <summary>False when the session must end now (the caller revokes it). Rechecks only when due, and only one request per session at a time.</summary>
    public async Task<bool> KeepsSessionAsync(AdminSessionRecord session, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (session.RecheckAfter is not { } due || now < due)
        {
            return true;
        }

        var settings = Settings;
        if (!settings.Enabled)
        {
            return false;
        }

        var retry = now + (settings.RoleRecheckInterval < RetryAfterFailure ? settings.RoleRecheckInterval : RetryAfterFailure);
        if (!await sessions.ClaimRecheckAsync(session.TokenHash, due, retry, cancellationToken))
        {
            // Another request of this session holds the recheck; until it answers, the last confirmation stands.
            return true;
        }

        var opaqueId = AdminAccounts.OpaqueId(session.AdminId);
        var outcome = await RedeemAsync(session, cancellationToken);
        switch (outcome)
        {
            case Confirmed confirmed:
                await sessions.RecordRecheckAsync(session.TokenHash, confirmed.RefreshToken is null ? null : _protector.Protect(confirmed.RefreshToken), now, now + settings.RoleRecheckInterval, cancellationToken);
                return true;
            case Unreachable unreachable when now <= (session.RoleCheckedAt ?? session.CreatedAt) + settings.RoleRecheckInterval + settings.RoleRecheckGrace:
                LogProviderUnreachable(logger, opaqueId, unreachable.Code);
                return true;
            case Unreachable unreachable:
                LogSessionEnded(logger, opaqueId, unreachable.Code + "-past-grace");
                return false;
            case Refused refused:
                LogSessionEnded(logger, opaqueId, refused.Code);
                return false;
            default:
                throw new InvalidOperationException("Unknown recheck outcome.");
        }
    }

    private async Task<Outcome> RedeemAsync(AdminSessionRecord session, CancellationToken cancellationToken)
    {
        if (session.ProtectedRefreshToken is null)
        {
            return new Refused("no-refresh-token");
        }

        string refreshToken;
        try
        {
            refreshToken = _protector.Unprotect(session.ProtectedRefreshToken);
        }
        catch (CryptographicException)
        {
            return new Refused("refresh-token-unreadable");
        }

        var options = oidcOptions.Get(AdminSetup.OidcScheme);
        OpenIdConnectConfiguration configuration;
        try
        {
            configuration = await options.ConfigurationManager!.GetConfigurationAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new Unreachable("metadata-" + ex.GetType().Name);
        }

        var form = new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token",
            ["refresh_token"] = refreshToken,
            ["client_id"] = options.ClientId!,
            // The granted scopes less offline_access: a subset of the grant (RFC 6749 §6) that still asks for an ID token;
            // Entra ID wants a scope on a refresh, and a provider that did not grant offline_access refuses it (invalid_scope).
            ["scope"] = string.Join(' ', options.Scope.Where(scope => scope != "offline_access")),
        };
        if (!string.IsNullOrEmpty(options.ClientSecret))
        {
            form["client_secret"] = options.ClientSecret;
        }

        string? idToken;
        string? rotated;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, configuration.TokenEndpoint) { Content = new FormUrlEncodedContent(form) };
            using var response = await options.Backchannel.SendAsync(request, cancellationToken);
            if ((int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                return new Unreachable("token-endpoint-" + (int)response.StatusCode);
            }

            if (!response.IsSuccessStatusCode)
            {
                // invalid_grant: the account is disabled, the grant revoked or the token expired at the provider.
                return new Refused("refresh-refused-" + await OAuthErrorAsync(response, cancellationToken));
            }

            using var body = JsonDocument.Parse(await response.Content.ReadAsStreamAsync(cancellationToken));
            idToken = body.RootElement.TryGetProperty("id_token", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : null;
            rotated = body.RootElement.TryGetProperty("refresh_token", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return new Unreachable("token-endpoint-" + ex.GetType().Name);
        }
        catch (JsonException)
        {
            return new Refused("token-response-malformed");
        }

        if (string.IsNullOrEmpty(idToken))
        {
            return new Refused("no-id-token");
        }

        var parameters = options.TokenValidationParameters.Clone();
        parameters.ValidIssuer = configuration.Issuer;
        parameters.IssuerSigningKeys = configuration.SigningKeys;
        var validated = await options.TokenHandler.ValidateTokenAsync(idToken, parameters);
        if (!validated.IsValid)
        {
            return new Refused("id-token-invalid");
        }

        var principal = new ClaimsPrincipal(validated.ClaimsIdentity);
        if (AdminSetup.SubjectOf(principal) is not { } subject || AdminSessionStamps.OidcId(subject) != session.AdminId)
        {
            return new Refused("subject-changed");
        }

        var role = AdminSetup.RoleFrom(principal, Settings);
        if (role != session.Role)
        {
            return new Refused(role is null ? "role-removed" : "role-changed");
        }

        return new Confirmed(rotated);
    }

    /// <summary>The standard error code of a refused token request (RFC 6749 §5.2), never the provider's free text.</summary>
    private static async Task<string> OAuthErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            using var body = JsonDocument.Parse(await response.Content.ReadAsStreamAsync(cancellationToken));
            var error = body.RootElement.TryGetProperty("error", out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            return error is "invalid_request" or "invalid_client" or "invalid_grant" or "unauthorized_client" or "unsupported_grant_type" or "invalid_scope"
                ? error
                : "status-" + (int)response.StatusCode;
        }
        catch (JsonException)
        {
            return "status-" + (int)response.StatusCode;
        }
    }

    private abstract record Outcome;

    private sealed record Confirmed(string? RefreshToken) : Outcome;

    private sealed record Refused(string Code) : Outcome;

    private sealed record Unreachable(string Code) : Outcome;

    [LoggerMessage(Level = LogLevel.Information, Message = "A session of admin {AdminId} ended at its role recheck ({Reason}).")]
    private static partial void LogSessionEnded(ILogger logger, string adminId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The role recheck of admin {AdminId}'s session could not reach the provider ({Reason}); the session is kept within its grace and retried in a minute.")]
    private static partial void LogProviderUnreachable(ILogger logger, string adminId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The provider issued no refresh token for admin {AdminId}: the session ends at its first role recheck (grant the client offline_access / refresh tokens).")]
    private static partial void LogNoRefreshToken(ILogger logger, string adminId);
}
