using System.Buffers.Text;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using SecureImage.Core.Admin;

namespace SecureImage.Api.Security;

/// <summary>
/// The dashboard session: the cookie holds a random 256-bit token and nothing else; the session (admin id, display name,
/// role, credential stamp, sliding and absolute expiry) lives in the catalog under the token's SHA-256. Every request looks
/// it up (no cache), so a sign-out on any instance ends the session on all of them at once, and a saved copy of the cookie
/// answers 401 afterwards. A session also ends when the admin's password hash or role changes (its stamp no longer matches),
/// and a provider's session when its periodic role recheck at the provider fails (<see cref="OidcRoleRecheck"/>).
/// </summary>
internal sealed partial class AdminSessionHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    IAdminSessionStore sessions,
    AdminSessionStamps stamps,
    IOptions<AdminOptions> adminOptions,
    OidcRoleRecheck roleRecheck,
    TimeProvider timeProvider)
    : SignInAuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string StampClaim = "secureimage:stamp";
    private const int TokenBytes = 32;

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Cookies.TryGetValue(AdminDefaults.CookieName, out var value) || !TryDecode(value, out var token))
        {
            return AuthenticateResult.NoResult();
        }

        var hash = SHA256.HashData(token);
        var session = await sessions.FindAsync(hash, Context.RequestAborted);
        var now = timeProvider.GetUtcNow();
        var settings = adminOptions.Value;
        if (session is null)
        {
            return AuthenticateResult.Fail("No open session for this cookie.");
        }

        if (now >= session.AbsoluteExpiresAt || now >= session.LastSeenAt + settings.SessionIdleTimeout)
        {
            return AuthenticateResult.Fail("The session has expired.");
        }

        if (!stamps.IsCurrent(session))
        {
            await sessions.RevokeAsync(hash, now, Context.RequestAborted);
            LogSessionEndedByChange(Logger, AdminAccounts.OpaqueId(session.AdminId));
            return AuthenticateResult.Fail("The admin's credentials or role changed.");
        }

        if (!await roleRecheck.KeepsSessionAsync(session, now, Context.RequestAborted))
        {
            await sessions.RevokeAsync(hash, now, Context.RequestAborted);
            return AuthenticateResult.Fail("The provider no longer confirms the admin's role.");
        }

        // Sliding: written at most every tenth of the idle timeout, not on every request.
        if (now - session.LastSeenAt >= settings.SessionIdleTimeout / 10)
        {
            await sessions.TouchAsync(hash, now, Context.RequestAborted);
        }

        var identity = new ClaimsIdentity(
            [
                new Claim(AdminDefaults.AdminClaim, session.AdminId),
                new Claim(ClaimTypes.Name, session.DisplayName),
                new Claim(AdminDefaults.RoleClaim, session.Role),
            ],
            AdminDefaults.Scheme,
            ClaimTypes.Name,
            AdminDefaults.RoleClaim);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), AdminDefaults.Scheme));
    }

    protected override async Task HandleSignInAsync(ClaimsPrincipal user, AuthenticationProperties? properties)
    {
        var adminId = user.FindFirstValue(AdminDefaults.AdminClaim) ?? throw new InvalidOperationException("A session needs an admin id.");
        var role = AdminRoles.RoleOf(user) ?? throw new InvalidOperationException("A session needs a role.");
        var stamp = user.FindFirstValue(StampClaim) ?? throw new InvalidOperationException("A session needs a credential stamp.");
        var token = RandomNumberGenerator.GetBytes(TokenBytes);
        var now = timeProvider.GetUtcNow();
        var session = new AdminSessionRecord(SHA256.HashData(token), adminId, user.FindFirstValue(ClaimTypes.Name) ?? adminId, role, stamp, now, now, now + adminOptions.Value.SessionAbsoluteLifetime);
        if (adminId.StartsWith(AdminSessionStamps.OidcPrefix, StringComparison.Ordinal))
        {
            var (refreshToken, recheckAfter) = roleRecheck.Start(properties?.GetParameter<string>(OidcRoleRecheck.RefreshTokenParameter), adminId, now);
            session = session with { ProtectedRefreshToken = refreshToken, RoleCheckedAt = now, RecheckAfter = recheckAfter };
        }

        await sessions.CreateAsync(session, Context.RequestAborted);

        // Sign-ins are rare: the moment to drop sessions that ended more than a day ago.
        await sessions.PurgeAsync(now - TimeSpan.FromDays(1), Context.RequestAborted);

        // A browser-session cookie; the server decides when the session ends.
        Response.Cookies.Append(AdminDefaults.CookieName, Base64Url.EncodeToString(token), CookieOptions());

        // The forwarded-headers middleware consumes the header of a trusted proxy: still here, a proxy ended TLS that the
        // configuration does not trust (or a client wrote it), and the cookie went out without Secure.
        if (!Request.IsHttps && Request.Headers["X-Forwarded-Proto"].ToString().Contains(Uri.UriSchemeHttps, StringComparison.OrdinalIgnoreCase))
        {
            LogForwardedHttpsIgnored(Logger);
        }
    }

    protected override async Task HandleSignOutAsync(AuthenticationProperties? properties)
    {
        if (Request.Cookies.TryGetValue(AdminDefaults.CookieName, out var value) && TryDecode(value, out var token))
        {
            await sessions.RevokeAsync(SHA256.HashData(token), timeProvider.GetUtcNow(), Context.RequestAborted);
        }

        Response.Cookies.Delete(AdminDefaults.CookieName, CookieOptions());
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (AdminAuthentication.WantsProblem(Request))
        {
            return AdminAuthentication.WriteProblemAsync(Context, StatusCodes.Status401Unauthorized, Problems.Problems.Types.Unauthorized, "Authentication required.", "Sign in at /admin/sign-in; the dashboard API accepts the admin session only.");
        }

        // A plain redirect, no return URL: after sign-in the dashboard opens at /admin.
        Response.Redirect(AdminDefaults.SignInPath);
        return Task.CompletedTask;
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        AdminAuthentication.WriteProblemAsync(Context, StatusCodes.Status403Forbidden, Problems.Problems.Types.Forbidden, "Forbidden.", "This admin's role may not do this; releasing holds and acting on jobs need the operator role.");

    private CookieOptions CookieOptions() => new()
    {
        Path = AdminDefaults.PagePath,
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = Request.IsHttps,
        IsEssential = true,
    };

    private static bool TryDecode(string value, out byte[] token)
    {
        token = new byte[TokenBytes];
        return value.Length == Base64Url.GetEncodedLength(TokenBytes)
            && Base64Url.IsValid(value)
            && Base64Url.TryDecodeFromChars(value, token, out var written)
            && written == TokenBytes;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "An admin signed in over plain HTTP with X-Forwarded-Proto: https from a peer that is not a trusted proxy, so the session cookie has no Secure flag. If a proxy that ends TLS is in front of the service, trust it in SecureImage:ForwardedHeaders.")]
    private static partial void LogForwardedHttpsIgnored(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "A session of admin {AdminId} ended: the admin's password, role or sign-in method changed.")]
    private static partial void LogSessionEndedByChange(ILogger logger, string adminId);
}

/// <summary>
/// What a session is bound to. Local admins: their password hash and role (<see cref="AdminAccounts.StampOf"/>), and local
/// sign-in still enabled. OIDC admins: the provider and client they signed in with, and OIDC still configured.
/// </summary>
internal sealed class AdminSessionStamps(AdminAccounts admins, IOptions<AdminOptions> options)
{
    public const string LocalPrefix = "local:";
    public const string OidcPrefix = "oidc:";

    public static string LocalId(string user) => LocalPrefix + user;

    public static string OidcId(string subject) => OidcPrefix + subject;

    public string? OidcStamp() => options.Value.Oidc is { Enabled: true } oidc
        ? "oidc:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{oidc.Authority}\n{oidc.ClientId}")).AsSpan(0, 16))
        : null;

    public bool IsCurrent(AdminSessionRecord session)
    {
        string? expected;
        if (session.AdminId.StartsWith(LocalPrefix, StringComparison.Ordinal))
        {
            var user = session.AdminId[LocalPrefix.Length..];
            expected = options.Value.LocalSignInEnabled && admins.RoleOf(user) == session.Role ? admins.StampOf(user) : null;
        }
        else
        {
            expected = session.AdminId.StartsWith(OidcPrefix, StringComparison.Ordinal) ? OidcStamp() : null;
        }

        return expected is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(session.Stamp));
    }
}
