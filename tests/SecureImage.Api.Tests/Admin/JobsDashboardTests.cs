using System.Net;
using System.Text.RegularExpressions;
using Hangfire;
using Hangfire.Storage;
using Microsoft.Extensions.DependencyInjection;
using SecureImage.Api.Tests.TestSupport;
using SecureImage.Core.Retention;

namespace SecureImage.Api.Tests.Admin;

/// <summary>
/// Hangfire's dashboard at /admin/jobs over HTTP (the access matrix for anonymous and bot-key requests is in
/// <see cref="AdminAccessTests"/>). No job runs by itself here: every interval is a day, so what a test sees
/// of a recurring job is what the test did.
/// </summary>
public sealed partial class JobsDashboardTests : IClassFixture<JobsDashboardTests.Service>
{
    private readonly Service _service;

    public JobsDashboardTests(Service service) => _service = service;

    [Fact]
    public async Task A_signed_in_admin_sees_the_three_recurring_jobs_with_their_schedules_and_no_storage_description()
    {
        var admin = await _service.Factory.SignInAsync();

        var home = await admin.GetAsync("/admin/jobs");
        var recurring = await admin.GetAsync("/admin/jobs/recurring");

        Assert.Equal(HttpStatusCode.OK, home.StatusCode);
        Assert.Equal("text/html", home.Content.Headers.ContentType?.MediaType);
        var html = await recurring.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, recurring.StatusCode);
        foreach (var id in new[] { JobNames.RetentionSweep, JobNames.OrphanReconciliation, JobNames.JobRunPurge })
        {
            Assert.Contains(id, html, StringComparison.Ordinal);
        }

        Assert.Contains("0 0 * * *", html, StringComparison.Ordinal);

        // The footer's storage description is off (on PostgreSQL it names the database host and name).
        Assert.DoesNotContain("In-Memory Storage", html, StringComparison.Ordinal);

        // "Back to site" leads to the retention dashboard's Jobs panel.
        Assert.Contains("href=\"/admin#jobs\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_the_jobs_dashboard_allows_its_two_hashed_inline_styles_and_no_page_allows_inline_script()
    {
        var admin = await _service.Factory.SignInAsync();

        var jobs = (await admin.GetAsync("/admin/jobs")).Headers.GetValues("Content-Security-Policy").Single();
        var page = (await admin.GetAsync("/admin")).Headers.GetValues("Content-Security-Policy").Single();

        Assert.StartsWith("default-src 'self'", jobs, StringComparison.Ordinal);
        Assert.Contains("style-src 'self' 'sha256-", jobs, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", jobs, StringComparison.Ordinal);
        Assert.DoesNotContain("script-src", jobs, StringComparison.Ordinal);
        Assert.DoesNotContain("style-src", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_post_without_the_anti_forgery_token_is_refused_with_400_and_triggers_nothing()
    {
        var admin = await _service.Factory.SignInAsync();
        var token = await DashboardTokenAsync(admin);
        var before = LastJobId(JobNames.JobRunPurge);

        var noToken = await admin.PostAsync("/admin/jobs/recurring/trigger", Form(JobNames.JobRunPurge));
        var wrongToken = new HttpRequestMessage(HttpMethod.Post, "/admin/jobs/recurring/trigger") { Content = Form(JobNames.JobRunPurge) };
        wrongToken.Headers.Add("X-CSRF-Token", "forged");
        var wrong = await admin.SendAsync(wrongToken);

        await noToken.AssertProblemAsync(HttpStatusCode.BadRequest, "antiforgery-token-invalid");
        await wrong.AssertProblemAsync(HttpStatusCode.BadRequest, "antiforgery-token-invalid");
        Assert.Equal(before, LastJobId(JobNames.JobRunPurge));

        // The same POST with the page's token, from an operator.
        var genuine = new HttpRequestMessage(HttpMethod.Post, "/admin/jobs/recurring/trigger") { Content = Form(JobNames.JobRunPurge) };
        genuine.Headers.Add("X-CSRF-Token", token);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.SendAsync(genuine)).StatusCode);
        Assert.NotEqual(before, LastJobId(JobNames.JobRunPurge));
    }

    [Fact]
    public async Task A_viewer_posting_a_dashboard_command_with_a_valid_token_gets_a_403_problem_and_triggers_nothing()
    {
        var viewer = await _service.Factory.SignInAsync(AdminSession.Viewer, AdminSession.ViewerPassword);
        var token = await DashboardTokenAsync(viewer);
        var before = LastJobId(JobNames.JobRunPurge);
        var request = new HttpRequestMessage(HttpMethod.Post, "/admin/jobs/recurring/trigger") { Content = Form(JobNames.JobRunPurge) };
        request.Headers.Add("X-CSRF-Token", token);

        await (await viewer.SendAsync(request)).AssertProblemAsync(HttpStatusCode.Forbidden, "forbidden");
        Assert.Equal(before, LastJobId(JobNames.JobRunPurge));
    }

    [Fact]
    public async Task The_dashboard_script_polling_without_a_session_gets_a_401_problem_not_a_redirect()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/admin/jobs/recurring");
        request.Headers.Add("X-Requested-With", "XMLHttpRequest");

        var response = await _service.Factory.CreateAnonymousClient().SendAsync(request);

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task An_address_the_dashboard_does_not_know_answers_a_404_problem()
    {
        var admin = await _service.Factory.SignInAsync();

        await (await admin.GetAsync("/admin/jobs/no-such-page")).AssertProblemAsync(HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task A_bot_api_key_next_to_no_session_opens_nothing_even_for_a_dashboard_command()
    {
        var bot = _service.Factory.CreateBotClient();
        var request = new HttpRequestMessage(HttpMethod.Post, "/admin/jobs/recurring/trigger") { Content = Form(JobNames.RetentionSweep) };
        var before = LastJobId(JobNames.RetentionSweep);

        await (await bot.SendAsync(request)).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        Assert.Equal(before, LastJobId(JobNames.RetentionSweep));
    }

    private static FormUrlEncodedContent Form(string recurringJobId) => new(new Dictionary<string, string> { ["jobs[]"] = recurringJobId });

    /// <summary>The token Hangfire's pages carry for their script (the admin anti-forgery token).</summary>
    private static async Task<string> DashboardTokenAsync(HttpClient admin) =>
        WebUtility.HtmlDecode(CsrfMeta().Match(await admin.GetStringAsync("/admin/jobs/recurring")).Groups[1].Value);

    private string? LastJobId(string recurringJobId)
    {
        using var connection = _service.Factory.Services.GetRequiredService<JobStorage>().GetConnection();
        return connection.GetRecurringJobs([recurringJobId]).Single().LastJobId;
    }

    [GeneratedRegex("<meta name=\"csrf-token\" content=\"([^\"]+)\">")]
    private static partial Regex CsrfMeta();

    /// <summary>One service (embedded default, one configured admin) whose jobs never come due during the tests.</summary>
    public sealed class Service : IDisposable
    {
        public Service()
        {
            var settings = AdminSession.OfficerSettings();
            settings["SecureImage:Retention:SweepInterval"] = "1.00:00:00";
            settings["SecureImage:Retention:ReconcileInterval"] = "1.00:00:00";
            settings["SecureImage:Retention:JobRunPurgeInterval"] = "1.00:00:00";
            Factory = new SecureImageFactory("Testing", settings);
        }

        public SecureImageFactory Factory { get; }

        public void Dispose() => Factory.Dispose();
    }
}
