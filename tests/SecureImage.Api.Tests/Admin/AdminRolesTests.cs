using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SecureImage.Api.Jobs;
using SecureImage.Api.Security;
using SecureImage.Api.Tests.TestSupport;
using SecureImage.Core.Admin;
using SecureImage.Core.Catalog;
using SecureImage.Core.Retention;

namespace SecureImage.Api.Tests.Admin;

/// <summary>The access matrix: every admin endpoint for a viewer and an operator.</summary>
public sealed class AdminRolesTests : IClassFixture<AdminRolesTests.Service>
{
    private readonly Service _service;

    public AdminRolesTests(Service service) => _service = service;

    /// <summary>Endpoint → the status a viewer gets, the status an operator gets (with a valid anti-forgery token on POSTs).</summary>
    public static TheoryData<string, string, int, int> Matrix => new()
    {
        { "GET", "/admin", 200, 200 },
        { "GET", "/admin/api/session", 200, 200 },
        { "GET", "/admin/api/overview", 200, 200 },
        { "GET", "/admin/api/series?bucket=day", 200, 200 },
        { "GET", "/admin/api/jobs", 200, 200 },
        { "GET", $"/admin/api/lookup/{Guid.Empty}", 404, 404 },
        { "GET", "/admin/api/audit", 200, 200 },
        { "GET", "/admin/api/audit.csv", 200, 200 },
        { "GET", "/admin/api/holds", 200, 200 },
        { "POST", $"/admin/api/holds/{Guid.Empty}/release", 403, 404 },
        { "GET", "/admin/jobs", 200, 200 },
        { "GET", "/admin/jobs/recurring", 200, 200 },
        { "POST", "/admin/jobs/stats", 200, 200 },
        { "POST", "/admin/jobs/recurring/trigger", 403, 204 },
        { "POST", "/admin/jobs/jobs/failed/delete", 403, 204 },
        { "POST", "/admin/sign-out", 302, 302 },
    };

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Each_admin_endpoint_answers_a_viewer_and_an_operator_as_the_access_matrix_says(string method, string path, int viewer, int @operator)
    {
        foreach (var (user, password, expected) in new[] { (AdminSession.Viewer, AdminSession.ViewerPassword, viewer), (AdminSession.Officer, AdminSession.OfficerPassword, @operator) })
        {
            var admin = await _service.Factory.SignInAsync(user, password);
            var token = await admin.CsrfTokenAsync();
            var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (method == "POST")
            {
                request.Headers.Add(AdminDefaults.AntiforgeryHeader, token);
                request.Content = path.EndsWith("/release", StringComparison.Ordinal)
                    ? JsonContent.Create(new { reason = "matrix" })
                    : new FormUrlEncodedContent(new Dictionary<string, string> { [AdminDefaults.AntiforgeryField] = token, ["jobs[]"] = JobNames.JobRunPurge });
            }

            var response = await admin.SendAsync(request);

            Assert.True(expected == (int)response.StatusCode, $"{user} {method} {path}: {(int)response.StatusCode}, expected {expected}");
            if (expected == 403)
            {
                await response.AssertProblemAsync(HttpStatusCode.Forbidden, "forbidden");
            }
        }
    }

    [Fact]
    public async Task A_viewer_sees_the_holds_but_is_refused_their_release_with_403_and_the_hold_stays()
    {
        var held = await _service.HeldImageAsync();
        var viewer = await _service.Factory.SignInAsync(AdminSession.Viewer, AdminSession.ViewerPassword);

        Assert.Contains(await viewer.GetFromJsonAsync<JsonElement[]>("/admin/api/holds") ?? [], h => h.GetProperty("imageId").GetGuid() == held);
        var refused = await Release(viewer, await viewer.CsrfTokenAsync(), held);

        await refused.AssertProblemAsync(HttpStatusCode.Forbidden, "forbidden");
        Assert.Equal(ImageState.Held, (await _service.Factory.Services.GetRequiredService<IImageCatalog>().FindImageAsync(held, CancellationToken.None))!.State);
    }

    [Fact]
    public async Task The_session_names_the_role_and_the_jobs_dashboard_is_read_only_for_a_viewer()
    {
        var viewer = await _service.Factory.SignInAsync(AdminSession.Viewer, AdminSession.ViewerPassword);
        var officer = await _service.Factory.SignInAsync();

        var session = await viewer.GetFromJsonAsync<JsonElement>("/admin/api/session");
        Assert.Equal((AdminSession.Viewer, "local:" + AdminSession.Viewer, AdminRoles.Viewer), (session.GetProperty("user").GetString(), session.GetProperty("adminId").GetString(), session.GetProperty("role").GetString()));
        Assert.Equal(AdminRoles.Operator, (await officer.GetFromJsonAsync<JsonElement>("/admin/api/session")).GetProperty("role").GetString());

        // Hangfire's read-only mode: no "Trigger now" button for the viewer; the operator has it.
        Assert.DoesNotContain("js-jobs-list-command", await viewer.GetStringAsync("/admin/jobs/recurring"), StringComparison.Ordinal);
        Assert.Contains("js-jobs-list-command", await officer.GetStringAsync("/admin/jobs/recurring"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Admin_actions_are_audited_with_role_admin_id_and_display_name()
    {
        var held = await _service.HeldImageAsync();
        var officer = await _service.Factory.SignInAsync();
        var token = await officer.CsrfTokenAsync();

        Assert.Equal(HttpStatusCode.OK, (await Release(officer, token, held)).StatusCode);
        var trigger = new HttpRequestMessage(HttpMethod.Post, "/admin/jobs/recurring/trigger")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { [AdminDefaults.AntiforgeryField] = token, ["jobs[]"] = JobNames.JobRunPurge }),
        };
        trigger.Headers.Add(AdminDefaults.AntiforgeryHeader, token);
        Assert.Equal(HttpStatusCode.NoContent, (await officer.SendAsync(trigger)).StatusCode);

        var audit = await officer.GetFromJsonAsync<JsonElement>("/admin/api/audit?limit=500");
        var events = audit.GetProperty("events").EnumerateArray().Select(e => (Kind: e.GetProperty("kind").GetString(), Actor: e.GetProperty("actor").GetString(), Reason: e.TryGetProperty("reason", out var r) ? r.GetString() : null)).ToList();
        const string actor = "admin:operator:local:officer (officer)";
        Assert.Contains(events, e => e.Kind == AdminAuditKinds.SignedIn && e.Actor == actor);
        Assert.Contains(events, e => e.Kind == HoldAuditKinds.HoldReleased && e.Actor == actor);
        Assert.Contains(events, e => e.Kind == AdminAuditKinds.JobCommand && e.Actor == actor && e.Reason == "/recurring/trigger");
    }

    [Fact]
    public async Task A_local_admin_without_a_role_cannot_sign_in_and_gets_the_wrong_password_answer()
    {
        var settings = AdminSession.OfficerSettings();
        settings["SecureImage:Admins:norole:PasswordHash"] = AdminPasswordHash.Create("a password without a role", AdminPasswordHash.MinIterations);
        using var factory = new SecureImageFactory("Testing", settings);
        var client = factory.CreateCookieClient();

        var response = await client.PostSignInAsync("norole", "a password without a role");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("The user name or the password is not right.", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/admin/api/overview")).StatusCode);
    }

    [Fact]
    public void An_unknown_role_in_configuration_refuses_the_start_naming_the_setting()
    {
        var refusal = Assert.Throws<OptionsValidationException>(() => new AdminAccounts(
            new Dictionary<string, (string, string?)> { ["boss"] = (AdminPasswordHash.Create("x-long-password", AdminPasswordHash.MinIterations), "admin") }, isDevelopment: false));

        Assert.Contains("SecureImage:Admins:boss:Role", refusal.Message, StringComparison.Ordinal);
    }

    private static Task<HttpResponseMessage> Release(HttpClient admin, string token, Guid id)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/admin/api/holds/{id}/release") { Content = JsonContent.Create(new { reason = "reviewed" }) };
        request.Headers.Add(AdminDefaults.AntiforgeryHeader, token);
        return admin.SendAsync(request);
    }

    public sealed class Service : IDisposable
    {
        public SecureImageFactory Factory { get; } = new("Testing", AdminSession.OfficerSettings());

        public async Task<Guid> HeldImageAsync()
        {
            var bot = Factory.CreateBotClient();
            var uploaded = await bot.UploadOkAsync(await bot.CreateConsentAsync(), Corpus.Read("jpg_Canon_40D.jpg"));
            Assert.Equal(HttpStatusCode.Accepted, (await bot.PostAsJsonAsync($"/v1/images/{uploaded.Id}/reports", new { reason = "privacy" })).StatusCode);
            return uploaded.Id;
        }

        public void Dispose() => Factory.Dispose();
    }
}
