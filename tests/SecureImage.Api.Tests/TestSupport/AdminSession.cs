using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc.Testing;
using SecureImage.Api.Security;

namespace SecureImage.Api.Tests.TestSupport;

/// <summary>Signs in to the dashboard through its real sign-in form (anti-forgery token included) and keeps the cookies.</summary>
public static partial class AdminSession
{
    public const string Officer = "officer";
    public const string OfficerPassword = "correct horse battery staple";
    public const string Viewer = "privacy";
    public const string ViewerPassword = "a viewer's own passphrase";

    /// <summary>
    /// Configured admins (fewer PBKDF2 iterations than production, to keep tests quick): <see cref="Officer"/> an operator,
    /// <see cref="Viewer"/> a viewer. Generous sign-in throttling, so tests that sign in often are not throttled, and no wait before a 429.
    /// </summary>
    public static Dictionary<string, string?> OfficerSettings() => new()
    {
        [$"SecureImage:Admins:{Officer}:PasswordHash"] = AdminPasswordHash.Create(OfficerPassword, AdminPasswordHash.MinIterations),
        [$"SecureImage:Admins:{Officer}:Role"] = AdminRoles.Operator,
        [$"SecureImage:Admins:{Viewer}:PasswordHash"] = AdminPasswordHash.Create(ViewerPassword, AdminPasswordHash.MinIterations),
        [$"SecureImage:Admins:{Viewer}:Role"] = AdminRoles.Viewer,
        ["SecureImage:Admin:SignInAttemptsPerWindow"] = "1000",

        // The frozen test clock would hold a throttled answer's wait for ever.
        ["SecureImage:Admin:ThrottledAnswerDelay"] = "00:00:00",
    };

    public static HttpClient CreateCookieClient(this SecureImageFactory factory) =>
        factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true, BaseAddress = factory.ClientOptions.BaseAddress });

    /// <summary>Posts the sign-in form; returns the response (302 to /admin on success).</summary>
    public static async Task<HttpResponseMessage> PostSignInAsync(this HttpClient client, string user, string password)
    {
        var token = await SignInTokenAsync(client);
        return await client.PostAsync("/admin/sign-in", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token,
            ["username"] = user,
            ["password"] = password,
        }));
    }

    public static async Task<HttpClient> SignInAsync(this SecureImageFactory factory, string user = Officer, string password = OfficerPassword)
    {
        var client = factory.CreateCookieClient();
        var response = await client.PostSignInAsync(user, password);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/admin", response.Headers.Location?.OriginalString);
        return client;
    }

    public static async Task<string> SignInTokenAsync(HttpClient client) => TokenFrom(await client.GetStringAsync("/admin/sign-in"));

    /// <summary>The anti-forgery token in a sign-in page's form.</summary>
    public static string TokenFrom(string signInPage) => WebUtility.HtmlDecode(TokenPattern().Match(signInPage).Groups[1].Value);

    /// <summary>The anti-forgery token the page's script sends with POSTs.</summary>
    public static async Task<string> CsrfTokenAsync(this HttpClient client) =>
        (await client.GetFromJsonAsync<JsonElement>("/admin/api/session")).GetProperty("csrfToken").GetString()!;

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]*)\"")]
    private static partial Regex TokenPattern();
}
