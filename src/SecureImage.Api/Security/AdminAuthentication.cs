using System.Security.Claims;
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

    /// <summary>Hangfire's dashboard (JobsDashboardEndpoints).</summary>
    public const string JobsPath = "/admin/jobs";
    public const string SignInPath = "/admin/sign-in";
    public const long MaxBodyBytes = 16 * 1024;
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromMinutes(30);
}

/// <summary>
/// What an admin may do beyond reading. Roles do not exist yet: every admin is an operator. This is the one
/// place that decides; when admins get roles (viewer, operator), it reads the operator role's claim, and the
/// jobs dashboard turns read-only (no trigger, delete or requeue) for the others.
/// </summary>
internal static class AdminRoles
{
    public static bool MayOperateJobs(ClaimsPrincipal admin) => admin.HasClaim(c => c.Type == AdminDefaults.AdminClaim);
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
            options.Events.OnRedirectToLogin = context => WantsProblem(context.Request)
                ? WriteProblemAsync(context.HttpContext, StatusCodes.Status401Unauthorized, Problems.Problems.Types.Unauthorized, "Authentication required.", "Sign in at /admin/sign-in; the dashboard API accepts the admin session only.")
                : Redirect(context);
            options.Events.OnRedirectToAccessDenied = context => WantsProblem(context.Request)
                ? WriteProblemAsync(context.HttpContext, StatusCodes.Status403Forbidden, Problems.Problems.Types.Forbidden, "Forbidden.", "This session may not call this endpoint.")
                : Redirect(context);
        });

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

    private static Task Redirect(RedirectContext<CookieAuthenticationOptions> context)
    {
        // A plain redirect, no return URL: after sign-in the dashboard opens at /admin.
        context.Response.Redirect(AdminDefaults.SignInPath);
        return Task.CompletedTask;
    }
}
