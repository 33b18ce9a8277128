using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SecureImage.Api.Security;
using SecureImage.Api.Tests.TestSupport;
using SecureImage.Core.Retention;

namespace SecureImage.Api.Tests.Admin;

public sealed class AdminAccessTests : IClassFixture<AdminAccessTests.Service>
{
    private readonly Service _service;

    public AdminAccessTests(Service service) => _service = service;

    public static TheoryData<string, string> Pages => new()
    {
        { "GET", "/admin" },
        { "GET", "/admin/" },
        { "POST", "/admin/sign-out" },
        { "GET", "/admin/jobs" },
        { "GET", "/admin/jobs/recurring" },
        { "GET", "/admin/jobs/jobs/details/1" },
    };

    public static TheoryData<string, string> ApiEndpoints => new()
    {
        { "GET", "/admin/api/session" },
        { "GET", "/admin/api/overview" },
        { "GET", "/admin/api/series?bucket=day" },
        { "GET", "/admin/api/jobs" },
        { "GET", $"/admin/api/lookup/{Guid.Empty}" },
        { "GET", "/admin/api/audit" },
        { "GET", "/admin/api/audit.csv" },
        { "GET", "/admin/api/holds" },
        { "POST", $"/admin/api/holds/{Guid.Empty}/release" },
        { "POST", "/admin/jobs/stats" },
        { "POST", "/admin/jobs/recurring/trigger" },
        { "POST", "/admin/jobs/jobs/succeeded/delete" },
    };

    [Theory]
    [MemberData(nameof(Pages))]
    public async Task An_unauthenticated_request_for_a_dashboard_page_is_redirected_to_sign_in(string method, string path)
    {
        var response = await _service.Factory.CreateAnonymousClient().SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/admin/sign-in", response.Headers.Location?.OriginalString);
    }

    [Theory]
    [MemberData(nameof(ApiEndpoints))]
    public async Task An_unauthenticated_request_to_the_dashboard_api_gets_a_401_problem_and_no_redirect(string method, string path)
    {
        var response = await _service.Factory.CreateAnonymousClient().SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Theory]
    [MemberData(nameof(Pages))]
    [MemberData(nameof(ApiEndpoints))]
    public async Task A_bot_api_key_never_opens_the_dashboard(string method, string path)
    {
        var response = await _service.Factory.CreateBotClient().SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Contains(response.StatusCode, new[] { HttpStatusCode.Redirect, HttpStatusCode.Unauthorized });
        if (response.StatusCode == HttpStatusCode.Redirect)
        {
            Assert.Equal("/admin/sign-in", response.Headers.Location?.OriginalString);
        }
    }

    [Fact]
    public async Task The_admin_cookie_never_opens_the_bot_api()
    {
        var admin = await _service.Factory.SignInAsync();

        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/admin/api/overview")).StatusCode);
        await (await admin.PostAsJsonAsync("/v1/consents", new { subjectId = "u", purpose = "p", policyVersion = "v" })).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        await (await admin.GetAsync($"/v1/images/{Guid.NewGuid()}")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        await (await admin.DeleteAsync($"/v1/images/{Guid.NewGuid()}")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task A_sign_in_post_without_or_with_a_wrong_anti_forgery_token_is_refused_with_400()
    {
        var client = _service.Factory.CreateCookieClient();
        var fields = new Dictionary<string, string> { ["username"] = AdminSession.Officer, ["password"] = AdminSession.OfficerPassword };

        var missing = await client.PostAsync("/admin/sign-in", new FormUrlEncodedContent(fields));
        await AdminSession.SignInTokenAsync(client);
        var wrong = await client.PostAsync("/admin/sign-in", new FormUrlEncodedContent(new Dictionary<string, string>(fields) { ["__RequestVerificationToken"] = "forged" }));

        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        Assert.DoesNotContain(client.DefaultRequestHeaders, h => h.Key == "Cookie");
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/admin/api/overview")).StatusCode);
    }

    [Fact]
    public async Task A_signed_in_admin_cannot_be_made_to_post_without_the_anti_forgery_token()
    {
        var admin = await _service.Factory.SignInAsync();
        var imageId = Guid.NewGuid();

        var noHeader = await admin.PostAsJsonAsync($"/admin/api/holds/{imageId}/release", new { reason = "forged" });
        var wrongHeader = new HttpRequestMessage(HttpMethod.Post, $"/admin/api/holds/{imageId}/release") { Content = JsonContent.Create(new { reason = "forged" }) };
        wrongHeader.Headers.Add("X-CSRF-Token", "forged");
        var signOutWithoutToken = await admin.PostAsync("/admin/sign-out", new FormUrlEncodedContent(new Dictionary<string, string>()));

        await noHeader.AssertProblemAsync(HttpStatusCode.BadRequest, "antiforgery-token-invalid");
        await (await admin.SendAsync(wrongHeader)).AssertProblemAsync(HttpStatusCode.BadRequest, "antiforgery-token-invalid");
        Assert.Equal(HttpStatusCode.BadRequest, signOutWithoutToken.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/admin/api/overview")).StatusCode);
    }

    [Fact]
    public async Task A_wrong_password_and_an_unknown_user_get_the_same_answer()
    {
        var client = _service.Factory.CreateCookieClient();

        var wrongPassword = await client.PostSignInAsync(AdminSession.Officer, "not the password");
        var unknownUser = await client.PostSignInAsync("nobody", AdminSession.OfficerPassword);

        Assert.Equal(HttpStatusCode.Unauthorized, wrongPassword.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, unknownUser.StatusCode);
        Assert.Equal(Message(await wrongPassword.Content.ReadAsStringAsync()), Message(await unknownUser.Content.ReadAsStringAsync()));
        Assert.False(wrongPassword.Headers.Contains("Set-Cookie") && wrongPassword.Headers.GetValues("Set-Cookie").Any(c => c.StartsWith(AdminDefaults.CookieName + "=", StringComparison.Ordinal)));
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/admin/api/overview")).StatusCode);

        static string Message(string html) => html[html.IndexOf("id=\"sign-in-error\"", StringComparison.Ordinal)..html.IndexOf("</p>", StringComparison.Ordinal)];
    }

    [Fact]
    public async Task Signing_out_ends_the_session()
    {
        var admin = await _service.Factory.SignInAsync();
        var token = await admin.CsrfTokenAsync();

        var signOut = await admin.PostAsync("/admin/sign-out", new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = token }));

        Assert.Equal(HttpStatusCode.Redirect, signOut.StatusCode);
        Assert.Equal("/admin/sign-in", signOut.Headers.Location?.OriginalString);
        Assert.Equal(HttpStatusCode.Unauthorized, (await admin.GetAsync("/admin/api/overview")).StatusCode);
    }

    [Fact]
    public async Task Admin_responses_carry_strict_security_headers_and_the_cookie_is_http_only_and_same_site_strict()
    {
        var client = _service.Factory.CreateCookieClient();
        var response = await client.PostSignInAsync(AdminSession.Officer, AdminSession.OfficerPassword);
        var page = await client.GetAsync("/admin");

        var cookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(AdminDefaults.CookieName + "=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/admin", cookie, StringComparison.OrdinalIgnoreCase);
        foreach (var answer in new[] { response, page, await client.GetAsync("/admin/api/overview"), await _service.Factory.CreateAnonymousClient().GetAsync("/admin/api/jobs"), await client.GetAsync("/admin/jobs") })
        {
            Assert.StartsWith("default-src 'self'", answer.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
            Assert.Equal("DENY", answer.Headers.GetValues("X-Frame-Options").Single());
            Assert.Equal("no-store", answer.Headers.CacheControl?.ToString());
            Assert.Equal("no-referrer", answer.Headers.GetValues("Referrer-Policy").Single());
        }

        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<script src=\"/admin/assets/admin.js\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"\son[a-z]+=", html);
    }

    [Fact]
    public async Task Releasing_a_hold_needs_a_reason_and_is_audited_with_the_admin_as_actor()
    {
        var bot = _service.Factory.CreateBotClient();
        var uploaded = await bot.UploadOkAsync(await bot.CreateConsentAsync(), Corpus.Read("jpg_Canon_40D.jpg"));
        Assert.Equal(HttpStatusCode.Accepted, (await bot.PostAsJsonAsync($"/v1/images/{uploaded.Id}/reports", new { reason = "privacy" })).StatusCode);
        var admin = await _service.Factory.SignInAsync();
        var token = await admin.CsrfTokenAsync();

        Assert.Contains(await admin.GetFromJsonAsync<JsonElement[]>("/admin/api/holds") ?? [], h => h.GetProperty("imageId").GetGuid() == uploaded.Id);
        await (await Release(admin, token, uploaded.Id, new { })).AssertProblemAsync(HttpStatusCode.BadRequest, "bad-request");
        await (await Release(admin, token, uploaded.Id, new { reason = "  " })).AssertProblemAsync(HttpStatusCode.BadRequest, "bad-request");
        var released = await Release(admin, token, uploaded.Id, new { reason = "reviewed by the privacy officer" });
        await (await Release(admin, token, uploaded.Id, new { reason = "again" })).AssertProblemAsync(HttpStatusCode.NotFound, "not-found");

        Assert.Equal(HttpStatusCode.OK, released.StatusCode);
        var history = await _service.Factory.Services.GetRequiredService<Core.Catalog.IImageCatalog>().GetHistoryAsync(uploaded.Id, CancellationToken.None);
        var release = Assert.Single(history, e => e.Kind == HoldAuditKinds.HoldReleased);
        Assert.Equal(("admin:operator:local:officer (officer)", "reviewed by the privacy officer"), (release.Actor, release.Reason));
        Assert.DoesNotContain(await admin.GetFromJsonAsync<JsonElement[]>("/admin/api/holds") ?? [], h => h.GetProperty("imageId").GetGuid() == uploaded.Id);

        static Task<HttpResponseMessage> Release(HttpClient admin, string token, Guid id, object body)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, $"/admin/api/holds/{id}/release") { Content = JsonContent.Create(body) };
            request.Headers.Add("X-CSRF-Token", token);
            return admin.SendAsync(request);
        }
    }

    [Fact]
    public async Task The_dev_admin_signs_in_in_Development()
    {
        using var factory = new SecureImageFactory("Development");

        await factory.SignInAsync(Security.AdminAccounts.DevAdminUser, Security.AdminAccounts.DevAdminPassword);
    }

    [Fact]
    public async Task The_dev_admin_does_not_exist_in_Production()
    {
        using var factory = new SecureImageFactory("Production");

        var response = await factory.CreateCookieClient().PostSignInAsync(Security.AdminAccounts.DevAdminUser, Security.AdminAccounts.DevAdminPassword);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task A_configured_admin_with_the_dev_password_stops_the_start_outside_Development()
    {
        // On a real process: an in-memory host that fails to start can surface a disposal error instead of its cause.
        using var factory = new SecureImageFactory("Production", new Dictionary<string, string?>
        {
            ["SecureImage:Admins:boss:PasswordHash"] = AdminPasswordHash.Create(Security.AdminAccounts.DevAdminPassword, AdminPasswordHash.MinIterations),
        });

        var output = await factory.AssertRefusesToStartAsync();

        Assert.Contains("well-known development password", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_password_hash_stops_the_start()
    {
        using var factory = new SecureImageFactory("Testing", new Dictionary<string, string?> { ["SecureImage:Admins:boss:PasswordHash"] = "plain-text-password" });

        var output = await factory.AssertRefusesToStartAsync();

        Assert.Contains("SecureImage:Admins:boss:PasswordHash", output, StringComparison.Ordinal);
        Assert.DoesNotContain("plain-text-password", output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_password_hash_verifies_only_its_own_password_and_rejects_tampering()
    {
        var hash = AdminPasswordHash.Create("s3cret", AdminPasswordHash.MinIterations);
        var parts = hash.Split('$');
        var tampered = string.Join('$', parts[0], parts[1], parts[2], Convert.ToBase64String(new byte[32]));

        Assert.Matches(@"^pbkdf2-sha256\$100000\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]{44}$", hash);
        Assert.True(AdminPasswordHash.Verify("s3cret", hash));
        Assert.False(AdminPasswordHash.Verify("s3cret ", hash));
        Assert.False(AdminPasswordHash.Verify("s3cret", tampered));
        Assert.False(AdminPasswordHash.Verify("s3cret", "pbkdf2-sha256$10$AAAA$AAAA"));
    }

    /// <summary>One service (SQLite, Testing environment, one configured admin) shared by the access tests.</summary>
    public sealed class Service : IDisposable
    {
        public SecureImageFactory Factory { get; } = new("Testing", AdminSession.OfficerSettings());

        public void Dispose() => Factory.Dispose();
    }
}
