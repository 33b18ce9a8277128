using Hangfire;
using Hangfire.Dashboard;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using SecureImage.Api.Security;
using SecureImage.Core.Admin;
using SecureImage.Core.Catalog;

namespace SecureImage.Api.Features.Admin;

/// <summary>
/// Hangfire's dashboard at <c>/admin/jobs</c>, for signed-in admins on the same cookie session as
/// <c>/admin</c>: the endpoint requires the admin policy (so a page request without the session is sent to
/// sign-in and anything else gets a 401 problem, <see cref="AdminAuthentication"/>), and Hangfire's own
/// authorization filter checks the admin cookie again. A bot API key opens nothing here: the policy
/// authenticates the admin scheme only. POSTs (the dashboard's commands and its stats poll) carry the
/// admin anti-forgery token, which Hangfire reads from the page and sends in <c>X-CSRF-Token</c>.
/// </summary>
internal static class JobsDashboardEndpoints
{
    public const string Path = AdminDefaults.JobsPath;

    /// <summary>The dashboard's one read-only POST: the figures its script polls.</summary>
    private const string StatsPath = "/stats";

    public static IEndpointConventionBuilder MapJobsDashboardEndpoints(this IEndpointRouteBuilder routes)
    {
        var options = new DashboardOptions
        {
            AppPath = AdminDefaults.PagePath + "#jobs",
            DashboardTitle = "SecureImage jobs",

            // The footer would name the database host and name.
            DisplayStorageConnectionString = false,
            AsyncAuthorization = [new AdminDashboardAuthorization()],
            IsReadOnlyFunc = context => !AdminRoles.MayOperateJobs(context.GetHttpContext().User),
        };

        // What MapHangfireDashboard does, without its check for Hangfire's process-wide configuration (JobsSetup avoids it).
        var pipeline = routes.CreateApplicationBuilder()
            .UsePathBase(Path)
            .Use(RefuseForgedPostsAsync)
            .Use(OperatorsOnlyCommandsAsync)
            .UseMiddleware<AspNetCoreDashboardMiddleware>(routes.ServiceProvider.GetRequiredService<JobStorage>(), options, DashboardRoutes.Routes, true)
            .Build();
        return routes.Map(Path + "/{**path}", pipeline).RequireAuthorization(AdminDefaults.Policy).ExcludeFromDescription();
    }

    /// <summary>
    /// Hangfire refuses a POST without a valid token itself (403, empty); this answers first, with the same
    /// 400 problem as the dashboard's own API, so a forged POST is told what is wrong.
    /// </summary>
    private static async Task RefuseForgedPostsAsync(HttpContext context, RequestDelegate next)
    {
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method)
            && !await context.RequestServices.GetRequiredService<IAntiforgery>().IsRequestValidAsync(context))
        {
            await AdminApiEndpoints.AntiforgeryRefused().ExecuteAsync(context);
            return;
        }

        await next(context);
    }

    /// <summary>
    /// The dashboard's POSTs other than its stats poll are commands (trigger, requeue, delete). A viewer gets a 403 problem
    /// (Hangfire's read-only mode already hides the buttons; this also refuses a hand-made POST). An operator's command is
    /// audited once Hangfire has carried it out.
    /// </summary>
    private static async Task OperatorsOnlyCommandsAsync(HttpContext context, RequestDelegate next)
    {
        if (HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method) || context.Request.Path == StatsPath)
        {
            await next(context);
            return;
        }

        if (!AdminRoles.MayOperateJobs(context.User))
        {
            await AdminAuthentication.WriteProblemAsync(context, StatusCodes.Status403Forbidden, Problems.Problems.Types.Forbidden, "Forbidden.", "Acting on jobs needs the operator role; a viewer sees the jobs dashboard read-only.");
            return;
        }

        await next(context);
        if (context.Response.StatusCode is >= 200 and < 300)
        {
            var command = context.Request.Path.Value ?? "";
            var services = context.RequestServices;
            await AdminPageEndpoints.AuditAsync(
                services.GetRequiredService<IImageCatalog>(),
                context.User,
                AdminAuditKinds.JobCommand,
                command[..Math.Min(command.Length, 200)],
                services.GetRequiredService<TimeProvider>(),
                context.RequestAborted);
        }
    }

    /// <summary>Only the admin cookie opens the dashboard, whatever else the request carries.</summary>
    private sealed class AdminDashboardAuthorization : IDashboardAsyncAuthorizationFilter
    {
        public async Task<bool> AuthorizeAsync(DashboardContext context)
        {
            var result = await context.GetHttpContext().AuthenticateAsync(AdminDefaults.Scheme);
            return result.Succeeded && AdminRoles.RoleOf(result.Principal) is not null;
        }
    }
}
