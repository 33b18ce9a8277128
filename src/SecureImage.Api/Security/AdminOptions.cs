using System.Net;
using Microsoft.Extensions.Options;

namespace SecureImage.Api.Security;

/// <summary>The section <c>SecureImage:Admin</c>: sessions, password sign-in throttling and OpenID Connect.</summary>
internal sealed class AdminOptions
{
    public const string Section = "Admin";

    /// <summary>A session ends after this long without a request (sliding).</summary>
    public TimeSpan SessionIdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>A session ends this long after sign-in, however active it is.</summary>
    public TimeSpan SessionAbsoluteLifetime { get; set; } = TimeSpan.FromHours(8);

    /// <summary>Password sign-in with the local admins of <c>SecureImage:Admins</c>; may be false only when OIDC is configured.</summary>
    public bool LocalSignInEnabled { get; set; } = true;

    /// <summary>Password sign-in attempts per client address and, separately, per user name (a token bucket of this size, refilled over <see cref="SignInWindow"/>).</summary>
    public int SignInAttemptsPerWindow { get; set; } = 5;

    public TimeSpan SignInWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>PBKDF2 verifications running at once across the instance; further attempts wait (up to <see cref="MaxQueuedPasswordChecks"/>) or get 429.</summary>
    public int MaxConcurrentPasswordChecks { get; set; } = 1;

    public int MaxQueuedPasswordChecks { get; set; } = 4;

    /// <summary>
    /// A throttled sign-in waits this long (a timer, no work) before its 429: a client that retries as soon as it is
    /// answered then sends one attempt a second instead of thousands, and the flood cannot crowd uploads off the cores.
    /// </summary>
    public TimeSpan ThrottledAnswerDelay { get; set; } = TimeSpan.FromSeconds(1);

    public AdminOidcOptions Oidc { get; set; } = new();
}

/// <summary><c>SecureImage:Admin:Oidc</c>: OpenID Connect sign-in (authorization code with PKCE). Off while Authority is unset.</summary>
internal sealed class AdminOidcOptions
{
    public Uri? Authority { get; set; }

    public string? ClientId { get; set; }

    public string? ClientSecret { get; set; }

    /// <summary>The button's text on the sign-in page.</summary>
    public string DisplayName { get; set; } = "organisation account";

    /// <summary>The claim holding the app roles (Entra ID: <c>roles</c>).</summary>
    public string RolesClaim { get; set; } = "roles";

    /// <summary>The claim holding group ids (Entra ID: <c>groups</c>), read only for <see cref="GroupRoles"/>.</summary>
    public string GroupsClaim { get; set; } = "groups";

    /// <summary>Group id → role (<c>viewer</c> or <c>operator</c>), for providers without app roles.</summary>
    public Dictionary<string, string> GroupRoles { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Extra scopes beyond <c>openid profile offline_access</c>.</summary>
    public string[] Scopes { get; set; } = [];

    /// <summary>
    /// How often a signed-in session asks the provider again (a refresh-token grant) whether the account still exists and
    /// still holds its role. A role removed or changed at the provider, or a disabled account, ends the session within this
    /// long; a session without a refresh token ends at its first recheck.
    /// </summary>
    public TimeSpan RoleRecheckInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// While the provider cannot be reached, a session stays open for at most this long after its last successful check
    /// (retried every minute); after that it ends. Zero: it ends at the first failed recheck.
    /// </summary>
    public TimeSpan RoleRecheckGrace { get; set; } = TimeSpan.FromMinutes(10);

    public bool Enabled => Authority is not null;
}

internal sealed class ValidateAdminOptions(IHostEnvironment environment) : IValidateOptions<AdminOptions>
{
    public ValidateOptionsResult Validate(string? name, AdminOptions options)
    {
        var failures = new List<string>();
        if (options.SessionIdleTimeout <= TimeSpan.Zero || options.SessionAbsoluteLifetime <= TimeSpan.Zero || options.SessionIdleTimeout > options.SessionAbsoluteLifetime)
        {
            failures.Add("SecureImage:Admin:SessionIdleTimeout and SessionAbsoluteLifetime must be positive, the idle timeout at most the absolute lifetime.");
        }

        if (options.SignInAttemptsPerWindow is < 1 or > 10_000 || options.SignInWindow <= TimeSpan.Zero)
        {
            failures.Add("SecureImage:Admin:SignInAttemptsPerWindow must be 1–10000 and SignInWindow positive.");
        }

        if (options.MaxConcurrentPasswordChecks is < 1 or > 64 || options.MaxQueuedPasswordChecks is < 0 or > 1000)
        {
            failures.Add("SecureImage:Admin:MaxConcurrentPasswordChecks must be 1–64 and MaxQueuedPasswordChecks 0–1000.");
        }

        if (options.ThrottledAnswerDelay < TimeSpan.Zero || options.ThrottledAnswerDelay > TimeSpan.FromSeconds(10))
        {
            failures.Add("SecureImage:Admin:ThrottledAnswerDelay must be between 0 and 10 seconds.");
        }

        var oidc = options.Oidc;
        if (oidc.Enabled)
        {
            failures.AddRange(ValidateOidc(oidc, environment.IsDevelopment()));
        }
        else if (!options.LocalSignInEnabled)
        {
            failures.Add("SecureImage:Admin:LocalSignInEnabled may be false only when SecureImage:Admin:Oidc:Authority is set (nobody could sign in).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static IEnumerable<string> ValidateOidc(AdminOidcOptions oidc, bool isDevelopment)
    {
        var authority = oidc.Authority!;

        // Scheme and Host throw on a relative URI (configuration binds "idp.example" as one), so absoluteness is checked first.
        var loopbackHttp = authority.IsAbsoluteUri && authority.Scheme == Uri.UriSchemeHttp && (authority.IsLoopback || IPAddress.TryParse(authority.Host, out var ip) && IPAddress.IsLoopback(ip));
        if (!authority.IsAbsoluteUri || !(authority.Scheme == Uri.UriSchemeHttps || (isDevelopment && loopbackHttp)))
        {
            yield return "SecureImage:Admin:Oidc:Authority must be an absolute https URL (in Development, http on loopback is accepted).";
        }

        if (string.IsNullOrWhiteSpace(oidc.ClientId))
        {
            yield return "SecureImage:Admin:Oidc:ClientId is required when Authority is set.";
        }

        if (string.IsNullOrWhiteSpace(oidc.RolesClaim) || string.IsNullOrWhiteSpace(oidc.GroupsClaim))
        {
            yield return "SecureImage:Admin:Oidc:RolesClaim and GroupsClaim must not be empty.";
        }

        if (oidc.RoleRecheckInterval < TimeSpan.FromSeconds(30) || oidc.RoleRecheckInterval > TimeSpan.FromHours(24))
        {
            yield return "SecureImage:Admin:Oidc:RoleRecheckInterval must be between 30 seconds and 24 hours.";
        }

        if (oidc.RoleRecheckGrace < TimeSpan.Zero || oidc.RoleRecheckGrace > TimeSpan.FromHours(24))
        {
            yield return "SecureImage:Admin:Oidc:RoleRecheckGrace must be between 0 and 24 hours.";
        }

        foreach (var (group, role) in oidc.GroupRoles)
        {
            if (!AdminRoles.IsKnown(role))
            {
                yield return $"SecureImage:Admin:Oidc:GroupRoles:{group} must be '{AdminRoles.Viewer}' or '{AdminRoles.Operator}'.";
            }
        }
    }
}
