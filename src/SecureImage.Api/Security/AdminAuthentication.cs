using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http.Features;

namespace SecureImage.Api.Security;

internal static class AdminDefaults
{
    public const string Scheme = "Admin";
    public const string Policy = "Admin";
    public const string AdminClaim = "secureimage:admin";
    public const string CookieName = "secureimage-admin";
    public const string AntiforgeryCookieName = "secureimage-admin-csrf";
    public const string AntiforgeryHeader = "X-CSRF-Token";
    public const string AntiforgeryField = "__RequestVerificationToken";
    public const string PagePath = "/admin";
    public const string ApiPath = "/admin/api";
    public const string SignInPath = "/admin/sign-in";
    public const long MaxBodyBytes = 16 * 1024;
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromMinutes(30);
}

/// <summary>
/// The admin cookie scheme: HttpOnly, SameSite=Strict, Secure whenever the request is HTTPS, sliding
/// 30 minutes, scoped to /admin. Pages redirect to sign-in; the JSON API answers 401/403 problems.
/// The bot API never looks at this cookie (its policy names the ApiKey scheme only).
/// </summary>
internal static class AdminAuthentication
{
    public static AuthenticationBuilder AddAdminCookie(this AuthenticationBuilder builder) =>
        builder.AddCookie(AdminDefaults.Scheme, options =>
        {
            options.Cookie.Name = AdminDefaults.CookieName;
            options.Cookie.Path = AdminDefaults.PagePath;
            options.Cookie.HttpOnly = true;
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.ExpireTimeSpan = AdminDefaults.SessionLifetime;
            options.SlidingExpiration = true;
            options.LoginPath = AdminDefaults.SignInPath;
            options.AccessDeniedPath = AdminDefaults.SignInPath;
            options.ReturnUrlParameter = "returnUrl";
            options.Events.OnRedirectToLogin = context => IsApi(context.Request)
                ? WriteProblemAsync(context.HttpContext, StatusCodes.Status401Unauthorized, Problems.Problems.Types.Unauthorized, "Authentication required.", "Sign in at /admin/sign-in; the dashboard API accepts the admin session only.")
                : Redirect(context);
            options.Events.OnRedirectToAccessDenied = context => IsApi(context.Request)
                ? WriteProblemAsync(context.HttpContext, StatusCodes.Status403Forbidden, Problems.Problems.Types.Forbidden, "Forbidden.", "This session may not call this endpoint.")
                : Redirect(context);
        });

    public static bool IsApi(HttpRequest request) => request.Path.StartsWithSegments(AdminDefaults.ApiPath, StringComparison.OrdinalIgnoreCase);

    public static Task WriteProblemAsync(HttpContext context, int status, string type, string title, string detail)
    {
        context.Response.StatusCode = status;
        return context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = { Status = status, Type = type, Title = title, Detail = detail },
        }).AsTask();
    }

    /// <summary>
    /// Strict headers on every /admin response (pages, assets, redirects, problems): no framing, no
    /// caching, no referrer, scripts and styles from this origin only.
    /// </summary>
    public static IApplicationBuilder UseAdminSecurityHeaders(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (context.Request.Path.StartsWithSegments(AdminDefaults.PagePath, StringComparison.OrdinalIgnoreCase))
        {
            context.Response.OnStarting(() =>
            {
                var headers = context.Response.Headers;
                headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";
                headers.XFrameOptions = "DENY";
                headers.CacheControl = "no-store";
                headers.XContentTypeOptions = "nosniff";
                headers["Referrer-Policy"] = "no-referrer";
                return Task.CompletedTask;
            });
        }

        await next(context);
    });

    /// <summary>
    /// Bodies under /admin are small: the sign-in form (a user name, a password of at most 1024 characters, a token), the
    /// sign-out form and a hold release's reason. Anyone may post the sign-in form, so a larger body is refused as soon as it
    /// passes the limit instead of being read and held up to Kestrel's 30 MB. (Set here rather than as endpoint metadata,
    /// which logs a warning on servers without the feature.)
    /// </summary>
    public static IApplicationBuilder UseAdminBodyLimit(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        if (context.Request.Path.StartsWithSegments(AdminDefaults.PagePath, StringComparison.OrdinalIgnoreCase)
            && context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = AdminDefaults.MaxBodyBytes;
        }

        return next(context);
    });

    private static Task Redirect(RedirectContext<CookieAuthenticationOptions> context)
    {
        // A plain redirect, no return URL: after sign-in the dashboard opens at /admin.
        context.Response.Redirect(AdminDefaults.SignInPath);
        return Task.CompletedTask;
    }
}
