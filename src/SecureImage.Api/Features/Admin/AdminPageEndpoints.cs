using System.Globalization;
using System.Reflection;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using SecureImage.Api.Security;
using SecureImage.Core;
using SecureImage.Core.Admin;
using SecureImage.Core.Catalog;

namespace SecureImage.Api.Features.Admin;

/// <summary>
/// The dashboard page, its sign-in and sign-out, and its three static assets (embedded in the assembly,
/// no front-end build step). The page itself is static HTML; its script reads the JSON API.
/// </summary>
internal static partial class AdminPageEndpoints
{
    private static readonly IReadOnlyDictionary<string, (byte[] Bytes, string ContentType)> Assets = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal)
    {
        ["admin.js"] = (ReadAsset("admin.js"), "text/javascript; charset=utf-8"),
        ["admin.css"] = (ReadAsset("admin.css"), "text/css; charset=utf-8"),
    };

    private static readonly byte[] IndexHtml = ReadAsset("index.html");
    private static readonly string SignInHtml = System.Text.Encoding.UTF8.GetString(ReadAsset("sign-in.html"));
    private static readonly byte[] SignedInHtml = ReadAsset("signed-in.html");
    private const string WrongCredentials = "The user name or the password is not right.";

    public static RouteGroupBuilder MapAdminPageEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup(AdminDefaults.PagePath).ExcludeFromDescription();
        group.MapGet("/", GetPage).RequireAuthorization(AdminDefaults.Policy);
        group.MapGet("/sign-in", GetSignIn).AllowAnonymous();
        group.MapPost("/sign-in", SignInAsync).AllowAnonymous();
        group.MapGet("/sign-in/oidc", StartOidcSignIn).AllowAnonymous();
        group.MapGet("/sign-in/done", GetSignedIn).AllowAnonymous();
        group.MapPost("/sign-out", SignOutAsync).RequireAuthorization(AdminDefaults.Policy);
        group.MapGet("/assets/{name}", GetAsset).AllowAnonymous();
        return group;
    }

    public static FileContentHttpResult GetPage() => TypedResults.File(IndexHtml, "text/html; charset=utf-8");

    public static ContentHttpResult GetSignIn(string? error, HttpContext context, IAntiforgery antiforgery, IOptions<AdminOptions> options) =>
        SignInPage(context, antiforgery, options.Value, error == "oidc" ? "The sign-in with the organisation account did not succeed." : null, StatusCodes.Status200OK);

    /// <summary>
    /// Password sign-in: throttled per client address and per user name before any PBKDF2 work, then verified inside the
    /// instance-wide bound on PBKDF2 work. A refusal says nothing about which of the two was wrong, or whether the admin
    /// has a role.
    /// </summary>
    public static async Task<Results<RedirectHttpResult, ContentHttpResult, ProblemHttpResult, NotFound>> SignInAsync(
        [FromForm(Name = "username")] string? username,
        [FromForm(Name = "password")] string? password,
        HttpContext context,
        IAntiforgery antiforgery,
        AdminAccounts admins,
        IOptions<AdminOptions> options,
        SignInThrottle throttle,
        PasswordCheckGate gate,
        AdminMetrics metrics,
        IImageCatalog catalog,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory)
    {
        var logger = loggerFactory.CreateLogger(typeof(AdminPageEndpoints));
        if (!options.Value.LocalSignInEnabled)
        {
            return TypedResults.NotFound();
        }

        var user = (username ?? "").Trim();
        if (user.Length == 0 || user.Length > 64 || string.IsNullOrEmpty(password) || password.Length > 1024)
        {
            return SignInRefused(context, antiforgery, options.Value, metrics, logger, "credentials");
        }

        if (throttle.TryAcquire(context.Connection.RemoteIpAddress, user) is { } wait)
        {
            metrics.SignInFailed("throttled");
            LogSignInThrottled(logger);
            await TarpitAsync(options.Value, timeProvider, context.RequestAborted);
            return TooManyAttempts(context, wait, "Too many sign-in attempts from this address or for this user name. Wait and try again.");
        }

        var verified = await gate.RunAsync(() => admins.Verify(user, password), context.RequestAborted);
        if (verified is null)
        {
            metrics.SignInFailed("busy");
            LogSignInThrottled(logger);
            await TarpitAsync(options.Value, timeProvider, context.RequestAborted);
            return TooManyAttempts(context, TimeSpan.FromSeconds(1), "Too many sign-ins are being checked right now. Try again in a moment.");
        }

        var role = admins.RoleOf(user);
        if (verified != true || role is null)
        {
            return SignInRefused(context, antiforgery, options.Value, metrics, logger, verified == true ? "no-role" : "credentials");
        }

        var adminId = AdminSessionStamps.LocalId(user);
        var identity = new ClaimsIdentity(
            [
                new Claim(AdminDefaults.AdminClaim, adminId),
                new Claim(ClaimTypes.Name, user),
                new Claim(AdminDefaults.RoleClaim, role),
                new Claim(AdminSessionHandler.StampClaim, admins.StampOf(user)!),
            ],
            AdminDefaults.Scheme,
            ClaimTypes.Name,
            AdminDefaults.RoleClaim);
        var principal = new ClaimsPrincipal(identity);
        await context.SignInAsync(AdminDefaults.Scheme, principal, new AuthenticationProperties { IsPersistent = false });
        await AuditAsync(catalog, principal, AdminAuditKinds.SignedIn, "password", timeProvider, context.RequestAborted);
        LogSignedIn(logger, AdminAccounts.OpaqueId(adminId));
        return TypedResults.Redirect(AdminDefaults.PagePath);
    }

    /// <summary>Starts the OpenID Connect challenge (authorization code with PKCE); 404 when OIDC is not configured.</summary>
    public static Results<ChallengeHttpResult, NotFound> StartOidcSignIn(IOptions<AdminOptions> options) => options.Value.Oidc.Enabled
        ? TypedResults.Challenge(new AuthenticationProperties { RedirectUri = AdminDefaults.SignedInPath }, [AdminSetup.OidcScheme])
        : TypedResults.NotFound();

    public static FileContentHttpResult GetSignedIn() => TypedResults.File(SignedInHtml, "text/html; charset=utf-8");

    /// <summary>Ends the session in the catalog (every instance refuses its cookie from now on) and removes the cookie.</summary>
    public static async Task<RedirectHttpResult> SignOutAsync(
        [FromForm(Name = AdminDefaults.AntiforgeryField)] string? token, HttpContext context, IImageCatalog catalog, TimeProvider timeProvider, ILoggerFactory loggerFactory)
    {
        _ = token;
        var user = context.User.FindFirstValue(AdminDefaults.AdminClaim);
        await context.SignOutAsync(AdminDefaults.Scheme);
        if (user is not null)
        {
            await AuditAsync(catalog, context.User, AdminAuditKinds.SignedOut, null, timeProvider, context.RequestAborted);
            LogSignedOut(loggerFactory.CreateLogger(typeof(AdminPageEndpoints)), AdminAccounts.OpaqueId(user));
        }

        return TypedResults.Redirect(AdminDefaults.SignInPath);
    }

    /// <summary>An admin action in the audit log: the actor names the role, the stable admin id and the display name.</summary>
    public static Task AuditAsync(IImageCatalog catalog, ClaimsPrincipal admin, string kind, string? reason, TimeProvider timeProvider, CancellationToken cancellationToken) =>
        catalog.AppendAuditAsync(new AuditEvent(timeProvider.UtcNowMilliseconds(), kind, null, null, null, AdminRoles.Actor(admin), reason), cancellationToken);

    private static ContentHttpResult SignInRefused(HttpContext context, IAntiforgery antiforgery, AdminOptions options, AdminMetrics metrics, ILogger logger, string reason)
    {
        metrics.SignInFailed(reason);
        LogSignInFailed(logger);
        return SignInPage(context, antiforgery, options, WrongCredentials, StatusCodes.Status401Unauthorized);
    }

    private static Task TarpitAsync(AdminOptions options, TimeProvider timeProvider, CancellationToken cancellationToken) =>
        options.ThrottledAnswerDelay > TimeSpan.Zero ? Task.Delay(options.ThrottledAnswerDelay, timeProvider, cancellationToken) : Task.CompletedTask;

    private static ProblemHttpResult TooManyAttempts(HttpContext context, TimeSpan wait, string detail)
    {
        context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        return Problems.Problems.Make(StatusCodes.Status429TooManyRequests, Problems.Problems.Prefix + "too-many-sign-in-attempts", "Too many sign-in attempts.", detail);
    }

    public static Results<FileContentHttpResult, NotFound> GetAsset(string name) =>
        Assets.TryGetValue(name, out var asset) ? TypedResults.File(asset.Bytes, asset.ContentType) : TypedResults.NotFound();

    private static ContentHttpResult SignInPage(HttpContext context, IAntiforgery antiforgery, AdminOptions options, string? message, int status)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        var html = SignInHtml
            .Replace("{{field}}", HtmlEncoder.Default.Encode(tokens.FormFieldName), StringComparison.Ordinal)
            .Replace("{{token}}", HtmlEncoder.Default.Encode(tokens.RequestToken ?? ""), StringComparison.Ordinal)
            .Replace("{{message}}", HtmlEncoder.Default.Encode(message ?? ""), StringComparison.Ordinal)
            .Replace("{{message-hidden}}", message is null ? "hidden" : "", StringComparison.Ordinal)
            .Replace("{{oidc-hidden}}", options.Oidc.Enabled ? "" : "hidden", StringComparison.Ordinal)
            .Replace("{{oidc-name}}", HtmlEncoder.Default.Encode(options.Oidc.DisplayName), StringComparison.Ordinal)
            .Replace("{{local-hidden}}", options.LocalSignInEnabled ? "" : "hidden", StringComparison.Ordinal);
        return TypedResults.Content(html, "text/html; charset=utf-8", statusCode: status);
    }

    private static byte[] ReadAsset(string name)
    {
        var assembly = Assembly.GetExecutingAssembly();
        using var stream = assembly.GetManifestResourceStream($"SecureImage.Api.wwwroot.admin.{name}")
            ?? throw new InvalidOperationException($"The dashboard asset {name} is not embedded.");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Admin {AdminId} signed in to the dashboard.")]
    private static partial void LogSignedIn(ILogger logger, string adminId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Admin {AdminId} signed out of the dashboard.")]
    private static partial void LogSignedOut(ILogger logger, string adminId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A dashboard sign-in failed.")]
    private static partial void LogSignInFailed(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A dashboard sign-in was throttled.")]
    private static partial void LogSignInThrottled(ILogger logger);
}
