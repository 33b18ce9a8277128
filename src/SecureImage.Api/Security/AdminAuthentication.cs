using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Features;

namespace SecureImage.Api.Security;

internal static class AdminDefaults
{
    public const string Scheme = "Admin";
    public const string Policy = "Admin";
    public const string AdminClaim = "secureimage:admin";
    public const string RoleClaim = "secureimage:admin-role";
    public const string CookieName = "secureimage-admin";
    public const string AntiforgeryCookieName = "secureimage-admin-csrf";
    public const string AntiforgeryHeader = "X-CSRF-Token";
    public const string AntiforgeryField = "__RequestVerificationToken";
    public const string PagePath = "/admin";
    public const string ApiPath = "/admin/api";

    /// <summary>Hangfire's dashboard (JobsDashboardEndpoints).</summary>
    public const string JobsPath = "/admin/jobs";
    public const string SignInPath = "/admin/sign-in";
    public const string OidcSignInPath = "/admin/sign-in/oidc";

    /// <summary>A same-site hop after the provider's redirect, so the browser sends the SameSite=Strict session cookie to /admin.</summary>
    public const string SignedInPath = "/admin/sign-in/done";

    /// <summary>Where the provider sends the browser back (register it as the redirect URI).</summary>
    public const string OidcCallbackPath = "/admin/signin-oidc";
    public const long MaxBodyBytes = 16 * 1024;
}

/// <summary>
/// The admin session scheme (<see cref="AdminSessionHandler"/>): an HttpOnly, SameSite=Strict cookie scoped to /admin,
/// Secure whenever the request is HTTPS, naming a session kept in the catalog. Pages redirect to sign-in; the JSON API
/// answers 401/403 problems. The bot API never looks at this cookie (its policy names the ApiKey scheme only).
/// </summary>
internal static class AdminAuthentication
{
    public static AuthenticationBuilder AddAdminSession(this AuthenticationBuilder builder) =>
        builder.AddScheme<AuthenticationSchemeOptions, AdminSessionHandler>(AdminDefaults.Scheme, null);

    public static bool IsApi(HttpRequest request) => request.Path.StartsWithSegments(AdminDefaults.ApiPath, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// A refused request gets a problem rather than the sign-in redirect: the dashboard API, and on the jobs
    /// dashboard whatever is not a page a browser navigates to (its POSTs, its script's XHR polls).
    /// </summary>
    public static bool WantsProblem(HttpRequest request) => IsApi(request)
        || (request.Path.StartsWithSegments(AdminDefaults.JobsPath, StringComparison.OrdinalIgnoreCase)
            && (!(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)) || request.Headers.XRequestedWith == "XMLHttpRequest"));

    public static Task WriteProblemAsync(HttpContext context, int status, string type, string title, string detail)
    {
        context.Response.StatusCode = status;
        return context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = { Status = status, Type = type, Title = title, Detail = detail },
        }).AsTask();
    }

    private const string ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

    /// <summary>
    /// On Hangfire's dashboard, and only there, two exact inline styles by their hashes: the one &lt;style&gt;
    /// element Chart.js 2.9 adds for its charts (its resize monitor), and the empty <c>style=""</c> attributes of
    /// the job details page. Scripts, any other inline style and any non-empty style attribute stay refused.
    /// (A Hangfire update that changes either shows as a CSP error in the browser test.)
    /// </summary>
    private const string JobsContentSecurityPolicy = ContentSecurityPolicy
        + "; style-src 'self' 'sha256-z7zcnw/4WalZqx+PrNaRnoeLz/G9WXuFqV1WCJ129sg='"
        + "; style-src-attr 'unsafe-hashes' 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='";

    /// <summary>
    /// Strict headers on every /admin response (pages, assets, redirects, problems): no framing, no
    /// caching, no referrer, scripts and styles from this origin only.
    /// </summary>
    public static IApplicationBuilder UseAdminSecurityHeaders(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (context.Request.Path.StartsWithSegments(AdminDefaults.PagePath, StringComparison.OrdinalIgnoreCase))
        {
            var jobs = context.Request.Path.StartsWithSegments(AdminDefaults.JobsPath, StringComparison.OrdinalIgnoreCase);
            context.Response.OnStarting(() =>
            {
                var headers = context.Response.Headers;
                headers.ContentSecurityPolicy = jobs ? JobsContentSecurityPolicy : ContentSecurityPolicy;
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
}
