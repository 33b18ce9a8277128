using System.Reflection;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using SecureImage.Api.Security;

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

    public static RouteGroupBuilder MapAdminPageEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup(AdminDefaults.PagePath).ExcludeFromDescription();
        group.MapGet("/", GetPage).RequireAuthorization(AdminDefaults.Policy);
        group.MapGet("/sign-in", GetSignIn).AllowAnonymous();
        group.MapPost("/sign-in", SignInAsync).AllowAnonymous();
        group.MapPost("/sign-out", SignOutAsync).RequireAuthorization(AdminDefaults.Policy);
        group.MapGet("/assets/{name}", GetAsset).AllowAnonymous();
        return group;
    }

    public static FileContentHttpResult GetPage() => TypedResults.File(IndexHtml, "text/html; charset=utf-8");

    public static ContentHttpResult GetSignIn(HttpContext context, IAntiforgery antiforgery) => SignInPage(context, antiforgery, null, StatusCodes.Status200OK);

    public static async Task<Results<RedirectHttpResult, ContentHttpResult>> SignInAsync(
        [FromForm(Name = "username")] string? username,
        [FromForm(Name = "password")] string? password,
        HttpContext context,
        IAntiforgery antiforgery,
        AdminAccounts admins,
        ILoggerFactory loggerFactory)
    {
        var logger = loggerFactory.CreateLogger(typeof(AdminPageEndpoints));
        var user = (username ?? "").Trim();
        if (user.Length == 0 || user.Length > 64 || string.IsNullOrEmpty(password) || password.Length > 1024 || !admins.Verify(user, password))
        {
            LogSignInFailed(logger);
            return SignInPage(context, antiforgery, "The user name or the password is not right.", StatusCodes.Status401Unauthorized);
        }

        var identity = new ClaimsIdentity(
            [new Claim(AdminDefaults.AdminClaim, user), new Claim(ClaimTypes.Name, user)],
            AdminDefaults.Scheme,
            ClaimTypes.Name,
            ClaimTypes.Role);
        await context.SignInAsync(AdminDefaults.Scheme, new ClaimsPrincipal(identity), new AuthenticationProperties { IsPersistent = false });
        LogSignedIn(logger, AdminAccounts.OpaqueId(user));
        return TypedResults.Redirect(AdminDefaults.PagePath);
    }

    public static async Task<RedirectHttpResult> SignOutAsync([FromForm(Name = AdminDefaults.AntiforgeryField)] string? token, HttpContext context, ILoggerFactory loggerFactory)
    {
        _ = token;
        var user = context.User.FindFirstValue(AdminDefaults.AdminClaim);
        await context.SignOutAsync(AdminDefaults.Scheme);
        if (user is not null)
        {
            LogSignedOut(loggerFactory.CreateLogger(typeof(AdminPageEndpoints)), AdminAccounts.OpaqueId(user));
        }

        return TypedResults.Redirect(AdminDefaults.SignInPath);
    }

    public static Results<FileContentHttpResult, NotFound> GetAsset(string name) =>
        Assets.TryGetValue(name, out var asset) ? TypedResults.File(asset.Bytes, asset.ContentType) : TypedResults.NotFound();

    private static ContentHttpResult SignInPage(HttpContext context, IAntiforgery antiforgery, string? message, int status)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        var html = SignInHtml
            .Replace("{{field}}", HtmlEncoder.Default.Encode(tokens.FormFieldName), StringComparison.Ordinal)
            .Replace("{{token}}", HtmlEncoder.Default.Encode(tokens.RequestToken ?? ""), StringComparison.Ordinal)
            .Replace("{{message}}", HtmlEncoder.Default.Encode(message ?? ""), StringComparison.Ordinal)
            .Replace("{{message-hidden}}", message is null ? "hidden" : "", StringComparison.Ordinal);
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
}
