using System.Net;
using SecureImage.Api.Security;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests.Admin;

/// <summary>Sessions kept on the server: sign-out, idle and absolute expiry, credential changes, other instances.</summary>
public sealed class AdminSessionRevocationTests
{
    [Fact]
    public async Task A_cookie_saved_before_sign_out_answers_401_afterwards()
    {
        using var factory = new SecureImageFactory("Testing", AdminSession.OfficerSettings());
        var (admin, saved) = await SignInKeepingCookieAsync(factory);
        Assert.Equal(HttpStatusCode.OK, (await WithCookie(factory, saved).GetAsync("/admin/api/overview")).StatusCode);

        await SignOutAsync(admin);

        await (await WithCookie(factory, saved).GetAsync("/admin/api/overview")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        var page = await WithCookie(factory, saved).GetAsync("/admin");
        Assert.Equal((HttpStatusCode.Redirect, "/admin/sign-in"), (page.StatusCode, page.Headers.Location?.OriginalString));
    }

    [Fact]
    public async Task A_session_ends_after_the_idle_timeout_and_after_the_absolute_lifetime_however_active()
    {
        var settings = AdminSession.OfficerSettings();
        settings["SecureImage:Admin:SessionIdleTimeout"] = "00:30:00";
        settings["SecureImage:Admin:SessionAbsoluteLifetime"] = "02:00:00";
        using var factory = new SecureImageFactory("Testing", settings);

        var (_, idle) = await SignInKeepingCookieAsync(factory);
        factory.Time.Advance(TimeSpan.FromMinutes(29));
        Assert.Equal(HttpStatusCode.OK, (await WithCookie(factory, idle).GetAsync("/admin/api/session")).StatusCode);
        factory.Time.Advance(TimeSpan.FromMinutes(31));
        Assert.Equal(HttpStatusCode.Unauthorized, (await WithCookie(factory, idle).GetAsync("/admin/api/session")).StatusCode);

        var (_, active) = await SignInKeepingCookieAsync(factory);
        for (var minutes = 20; minutes < 120; minutes += 20)
        {
            factory.Time.Advance(TimeSpan.FromMinutes(20));
            Assert.Equal(HttpStatusCode.OK, (await WithCookie(factory, active).GetAsync("/admin/api/session")).StatusCode);
        }

        factory.Time.Advance(TimeSpan.FromMinutes(20));
        Assert.Equal(HttpStatusCode.Unauthorized, (await WithCookie(factory, active).GetAsync("/admin/api/session")).StatusCode);
    }

    [Theory]
    [InlineData("password")]
    [InlineData("role")]
    [InlineData("removed")]
    public async Task Changing_a_local_admins_password_hash_or_role_ends_their_sessions(string change)
    {
        var shared = SecureImageFactory.NewKeySettings();
        var settings = new Dictionary<string, string?>(AdminSession.OfficerSettings());
        foreach (var (key, value) in shared)
        {
            settings[key] = value;
        }

        using var before = new SecureImageFactory("Testing", settings);
        var (_, saved) = await SignInKeepingCookieAsync(before);
        var viewerCookie = (await SignInKeepingCookieAsync(before, AdminSession.Viewer, AdminSession.ViewerPassword)).Cookie;

        // The same catalog after the configuration changed (as after a redeploy).
        var changed = new Dictionary<string, string?>(settings) { ["SecureImage:DataDirectory"] = before.DataDirectory };
        switch (change)
        {
            case "password":
                changed[$"SecureImage:Admins:{AdminSession.Officer}:PasswordHash"] = AdminPasswordHash.Create("a new passphrase", AdminPasswordHash.MinIterations);
                break;
            case "role":
                changed[$"SecureImage:Admins:{AdminSession.Officer}:Role"] = AdminRoles.Viewer;
                break;
            default:
                changed.Remove($"SecureImage:Admins:{AdminSession.Officer}:PasswordHash");
                changed.Remove($"SecureImage:Admins:{AdminSession.Officer}:Role");
                break;
        }

        using var after = new SecureImageFactory("Testing", changed);

        await (await WithCookie(after, saved).GetAsync("/admin/api/overview")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        Assert.Equal(HttpStatusCode.OK, (await WithCookie(after, viewerCookie).GetAsync("/admin/api/overview")).StatusCode);

        // Ended for good: the old configuration does not bring it back.
        Assert.Equal(HttpStatusCode.Unauthorized, (await WithCookie(before, saved).GetAsync("/admin/api/overview")).StatusCode);
    }

    [Theory]
    [InlineData("")]
    [InlineData("x")]
    [InlineData("not base64url at all, with spaces and %")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public async Task A_forged_or_malformed_session_cookie_answers_401_never_500(string value)
    {
        using var factory = new SecureImageFactory("Testing", AdminSession.OfficerSettings());

        await (await WithCookie(factory, value).GetAsync("/admin/api/overview")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task Signing_out_on_one_instance_ends_the_session_on_another_on_postgres()
    {
        await using var backend = await ProductionBackend.CreateAsync();
        var settings = AdminSession.OfficerSettings();
        var first = backend.NewInstance(settings);
        var second = backend.NewInstance(settings);
        var (admin, saved) = await SignInKeepingCookieAsync(first);
        Assert.Equal(HttpStatusCode.OK, (await WithCookie(second, saved).GetAsync("/admin/api/overview")).StatusCode);

        await SignOutAsync(admin);

        await (await WithCookie(second, saved).GetAsync("/admin/api/overview")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        await (await WithCookie(first, saved).GetAsync("/admin/api/overview")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
    }

    internal static async Task<(HttpClient Client, string Cookie)> SignInKeepingCookieAsync(SecureImageFactory factory, string user = AdminSession.Officer, string password = AdminSession.OfficerPassword)
    {
        var client = factory.CreateCookieClient();
        var response = await client.PostSignInAsync(user, password);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var setCookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(AdminDefaults.CookieName + "=", StringComparison.Ordinal));
        return (client, setCookie[(AdminDefaults.CookieName.Length + 1)..setCookie.IndexOf(';', StringComparison.Ordinal)]);
    }

    private static HttpClient WithCookie(SecureImageFactory factory, string cookie)
    {
        var client = factory.CreateAnonymousClient();
        client.DefaultRequestHeaders.Add("Cookie", $"{AdminDefaults.CookieName}={cookie}");
        return client;
    }

    private static async Task SignOutAsync(HttpClient admin)
    {
        var token = await admin.CsrfTokenAsync();
        var signOut = await admin.PostAsync("/admin/sign-out", new FormUrlEncodedContent(new Dictionary<string, string> { [AdminDefaults.AntiforgeryField] = token }));
        Assert.Equal(HttpStatusCode.Redirect, signOut.StatusCode);
    }
}
