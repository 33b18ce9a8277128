using System.Net;
using System.Web;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using SecureImage.Api.Configuration;
using SecureImage.Api.Security;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests.Admin;

/// <summary>
/// Behind a proxy that ends TLS (Container Apps' ingress): X-Forwarded-Proto/-For (and -Host when allowed) count only
/// from a trusted peer, and then decide the session cookie's Secure flag, the OIDC redirect_uri and the throttled address.
/// The in-memory server has no peer address, so <see cref="ClientAddressFromHeader"/> plays the peer that connects.
/// </summary>
public sealed class ForwardedHeadersTests
{
    private const string Proxy = "10.0.0.5";
    private const string Stranger = "198.51.100.9";
    private const string Authority = "https://login.example.test/tenant-1/v2.0";

    [Theory]
    [InlineData("KnownProxies:0", Proxy)]
    [InlineData("KnownNetworks:0", "10.0.0.0/24")]
    [InlineData("TrustAllProxies", "true")]
    public async Task A_sign_in_forwarded_as_https_by_a_trusted_proxy_gets_a_secure_session_cookie_that_then_works(string key, string value)
    {
        using var factory = Factory(new() { [$"SecureImage:ForwardedHeaders:{key}"] = value });
        var client = Through(factory, Proxy, ("X-Forwarded-Proto", "https"), ("X-Forwarded-For", "203.0.113.7"));

        var (signIn, cookies) = await SignInWithoutCookieJarAsync(client);

        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        var session = SetCookie(signIn, AdminDefaults.CookieName);
        Assert.Contains("; secure", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("; secure", cookies[AdminDefaults.AntiforgeryCookieName].SetCookie, StringComparison.OrdinalIgnoreCase);

        using var overview = new HttpRequestMessage(HttpMethod.Get, "/admin/api/overview");
        overview.Headers.Add("Cookie", $"{AdminDefaults.CookieName}={CookieValue(session)}");
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(overview)).StatusCode);
        Assert.Empty(factory.Logs.AtLeast(LogLevel.Warning));
    }

    [Theory]
    [InlineData(Stranger)]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    [InlineData("::ffff:10.0.0.6")]
    public async Task Forwarded_headers_from_a_peer_that_is_not_a_trusted_proxy_are_ignored(string peer)
    {
        using var factory = Factory(new() { ["SecureImage:ForwardedHeaders:KnownProxies:0"] = Proxy, ["SecureImage:Admin:SignInAttemptsPerWindow"] = "2" });

        // The scheme: the session cookie stays without Secure, and the log says why.
        var (signIn, _) = await SignInWithoutCookieJarAsync(Through(factory, peer, ("X-Forwarded-Proto", "https")));
        Assert.DoesNotContain("; secure", SetCookie(signIn, AdminDefaults.CookieName), StringComparison.OrdinalIgnoreCase);
        Assert.Contains(factory.Logs.AtLeast(LogLevel.Warning), l => l.ToString().Contains("from a peer that is not a trusted proxy", StringComparison.Ordinal));

        // The address: a new X-Forwarded-For on every attempt does not make a new client; the peer's own address is throttled.
        var answers = new List<HttpStatusCode>();
        for (var i = 1; i <= 3; i++)
        {
            var client = WithJar(factory, peer, ("X-Forwarded-For", $"203.0.113.{i}"));
            answers.Add((await client.PostSignInAsync($"guess-{i}", "wrong")).StatusCode);
        }

        // Two tokens: the right password above took one, the first guess the other.
        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], answers);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    [InlineData(null)]
    public async Task Without_trusted_proxies_configured_forwarded_headers_are_ignored_from_any_peer(string? peer)
    {
        using var factory = Factory([]);

        var (signIn, _) = await SignInWithoutCookieJarAsync(Through(factory, peer, ("X-Forwarded-Proto", "https"), ("X-Forwarded-For", "203.0.113.7")));

        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        Assert.DoesNotContain("; secure", SetCookie(signIn, AdminDefaults.CookieName), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task With_known_proxies_a_connection_without_a_peer_address_is_not_trusted()
    {
        using var factory = Factory(new() { ["SecureImage:ForwardedHeaders:KnownProxies:0"] = Proxy });

        // ASP.NET Core's middleware would take the first hop from a server that reports no peer address (a Unix socket).
        var (signIn, _) = await SignInWithoutCookieJarAsync(Through(factory, null, ("X-Forwarded-Proto", "https")));

        Assert.DoesNotContain("; secure", SetCookie(signIn, AdminDefaults.CookieName), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Two_clients_forwarded_by_the_trusted_proxy_are_throttled_separately()
    {
        using var factory = Factory(new() { ["SecureImage:ForwardedHeaders:TrustAllProxies"] = "true", ["SecureImage:Admin:SignInAttemptsPerWindow"] = "2" });
        var attacker = WithJar(factory, Proxy, ("X-Forwarded-For", "203.0.113.7"));
        var officer = WithJar(factory, Proxy, ("X-Forwarded-For", "198.51.100.20"));

        Assert.Equal(HttpStatusCode.Unauthorized, (await attacker.PostSignInAsync("alice", "guess")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await attacker.PostSignInAsync("bob", "guess")).StatusCode);
        await (await attacker.PostSignInAsync("carol", "guess")).AssertProblemAsync(HttpStatusCode.TooManyRequests, "too-many-sign-in-attempts");

        Assert.Equal(HttpStatusCode.Redirect, (await officer.PostSignInAsync(AdminSession.Officer, AdminSession.OfficerPassword)).StatusCode);
    }

    [Fact]
    public async Task A_client_cannot_leave_its_bucket_by_putting_addresses_of_its_own_in_front_of_X_Forwarded_For()
    {
        using var factory = Factory(new() { ["SecureImage:ForwardedHeaders:TrustAllProxies"] = "true", ["SecureImage:Admin:SignInAttemptsPerWindow"] = "2" });
        var answers = new List<HttpStatusCode>();
        for (var i = 1; i <= 3; i++)
        {
            // The ingress appends the address it saw; only that last entry is the proxy's word (ForwardLimit 1).
            var client = WithJar(factory, Proxy, ("X-Forwarded-For", $"192.0.2.{i}, 203.0.113.7"));
            answers.Add((await client.PostSignInAsync($"guess-{i}", "wrong")).StatusCode);
        }

        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests], answers);
    }

    [Fact]
    public async Task Forwarded_IPv6_clients_in_one_64_share_a_bucket_and_the_next_64_has_its_own()
    {
        using var factory = Factory(new() { ["SecureImage:ForwardedHeaders:TrustAllProxies"] = "true", ["SecureImage:Admin:SignInAttemptsPerWindow"] = "2" });
        string[] sameSlash64 = ["2001:db8:1:2::10", "2001:db8:1:2:ffff:ffff:ffff:fffe", "[2001:db8:1:2:abcd::1]:4711"];
        var answers = new List<HttpStatusCode>();
        for (var i = 0; i < sameSlash64.Length; i++)
        {
            answers.Add((await WithJar(factory, Proxy, ("X-Forwarded-For", sameSlash64[i])).PostSignInAsync($"guess-{i}", "wrong")).StatusCode);
        }

        var neighbour = await WithJar(factory, Proxy, ("X-Forwarded-For", "2001:db8:1:3::10")).PostSignInAsync("guess-next", "wrong");

        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests], answers);
        Assert.Equal(HttpStatusCode.Unauthorized, neighbour.StatusCode);
    }

    [Theory]
    [InlineData(Proxy, false, "https://localhost/admin/signin-oidc")]
    [InlineData(Stranger, false, "http://localhost/admin/signin-oidc")]
    [InlineData(Proxy, true, "https://admin.example.test/admin/signin-oidc")]
    public async Task The_oidc_challenge_sends_the_redirect_uri_the_browser_sees_when_a_trusted_proxy_forwards_it(string peer, bool forwardHost, string redirectUri)
    {
        using var factory = Factory(
            new()
            {
                ["SecureImage:ForwardedHeaders:KnownProxies:0"] = Proxy,
                ["SecureImage:ForwardedHeaders:ForwardHost"] = forwardHost ? "true" : "false",
                ["SecureImage:Admin:Oidc:Authority"] = Authority,
                ["SecureImage:Admin:Oidc:ClientId"] = "client-1",
            },
            services => services.Configure<OpenIdConnectOptions>(AdminSetup.OidcScheme, o => o.Configuration = new OpenIdConnectConfiguration
            {
                // The provider's metadata, so that the challenge needs no network.
                Issuer = Authority,
                AuthorizationEndpoint = "https://login.example.test/tenant-1/oauth2/v2.0/authorize",
            }));
        var client = Through(factory, peer, ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "admin.example.test"));

        var challenge = await client.GetAsync("/admin/sign-in/oidc");

        Assert.Equal(HttpStatusCode.Redirect, challenge.StatusCode);
        var location = challenge.Headers.Location!;
        Assert.StartsWith("https://login.example.test/tenant-1/oauth2/v2.0/authorize?", location.AbsoluteUri, StringComparison.Ordinal);
        Assert.Equal(redirectUri, HttpUtility.ParseQueryString(location.Query)["redirect_uri"]);
    }

    [Fact]
    public async Task An_address_that_is_not_an_ip_in_the_trusted_proxies_refuses_the_start_in_one_line()
    {
        using var factory = Factory(new() { ["SecureImage:ForwardedHeaders:KnownProxies:0"] = Proxy, ["SecureImage:ForwardedHeaders:KnownProxies:1"] = "10.0.0.300" });

        var output = await factory.AssertRefusesToStartAsync();

        Assert.Contains("SecureImage:ForwardedHeaders:KnownProxies:1 must be an IP address", output, StringComparison.Ordinal);
        Assert.DoesNotContain("10.0.0.300", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("KnownProxies", "10.0.0.300", "KnownProxies:0 must be an IP address")]
    [InlineData("KnownProxies", "10.1", "KnownProxies:0 must be an IP address")]
    [InlineData("KnownProxies", "010.0.0.1", "KnownProxies:0 must be an IP address")]
    [InlineData("KnownProxies", "ingress.internal", "KnownProxies:0 must be an IP address")]
    [InlineData("KnownProxies", "10.0.0.0/8", "KnownProxies:0 must be an IP address")]
    [InlineData("KnownNetworks", "10.0.0.0", "KnownNetworks:0 must be a network in CIDR notation")]
    [InlineData("KnownNetworks", "10.0.0.0/33", "KnownNetworks:0 must be a network in CIDR notation")]
    [InlineData("KnownNetworks", "10.0.0.1/8", "KnownNetworks:0 must be a network in CIDR notation")]
    [InlineData("KnownNetworks", "fd00::1/64", "KnownNetworks:0 must be a network in CIDR notation")]
    [InlineData("KnownNetworks", "10/8", "KnownNetworks:0 must be a network in CIDR notation")]
    [InlineData("TrustAllProxies", Proxy, "TrustAllProxies trusts every peer")]
    [InlineData("KnownProxies", " fd00::5 ", null)]
    [InlineData("KnownProxies", "10.0.0.5", null)]
    [InlineData("KnownNetworks", "10.0.0.0/16", null)]
    [InlineData("KnownNetworks", "fd00::/64", null)]
    public void Trusted_proxies_are_ip_addresses_and_networks_in_cidr_notation_and_trusting_all_excludes_the_lists(string setting, string value, string? failure)
    {
        var options = setting switch
        {
            "KnownProxies" => new ForwardedHeadersSettings { KnownProxies = [value] },
            "KnownNetworks" => new ForwardedHeadersSettings { KnownNetworks = [value] },
            _ => new ForwardedHeadersSettings { TrustAllProxies = true, KnownProxies = [value] },
        };

        var result = new ValidateForwardedHeadersSettings().Validate(null, options);

        if (failure is null)
        {
            Assert.True(result.Succeeded, result.FailureMessage);
        }
        else
        {
            Assert.Contains($"SecureImage:ForwardedHeaders:{failure}", result.FailureMessage, StringComparison.Ordinal);
            Assert.DoesNotContain(value, result.FailureMessage, StringComparison.Ordinal);
        }
    }

    private static SecureImageFactory Factory(Dictionary<string, string?> settings, Action<IServiceCollection>? services = null)
    {
        var all = AdminSession.OfficerSettings();
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }

        return new SecureImageFactory("Testing", all, services: s =>
        {
            ClientAddressFromHeader.AddTo(s);
            services?.Invoke(s);
        });
    }

    /// <summary>A client whose requests arrive from <paramref name="peer"/> (null: no peer address) with these headers.</summary>
    private static HttpClient Through(SecureImageFactory factory, string? peer, params (string Name, string Value)[] headers) =>
        WithHeaders(factory.CreateAnonymousClient(), peer, headers);

    /// <summary>The same with a cookie jar, for sign-ins over plain http (the jar sends no Secure cookie to http://).</summary>
    private static HttpClient WithJar(SecureImageFactory factory, string? peer, params (string Name, string Value)[] headers) =>
        WithHeaders(factory.CreateCookieClient(), peer, headers);

    private static HttpClient WithHeaders(HttpClient client, string? peer, (string Name, string Value)[] headers)
    {
        if (peer is not null)
        {
            client.DefaultRequestHeaders.Add(ClientAddressFromHeader.Header, peer);
        }

        foreach (var (name, value) in headers)
        {
            client.DefaultRequestHeaders.Add(name, value);
        }

        return client;
    }

    /// <summary>
    /// Signs in carrying the cookies by hand: a cookie jar would keep a Secure cookie from being sent back to the
    /// in-memory server's http:// address, while the service itself sees https through the forwarded scheme.
    /// </summary>
    private static async Task<(HttpResponseMessage SignIn, Dictionary<string, (string Value, string SetCookie)> Cookies)> SignInWithoutCookieJarAsync(HttpClient client)
    {
        var page = await client.GetAsync("/admin/sign-in");
        var cookies = page.Headers.GetValues("Set-Cookie").ToDictionary(c => c[..c.IndexOf('=', StringComparison.Ordinal)], c => (Value: CookieValue(c), SetCookie: c), StringComparer.Ordinal);
        using var post = new HttpRequestMessage(HttpMethod.Post, "/admin/sign-in")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                [AdminDefaults.AntiforgeryField] = AdminSession.TokenFrom(await page.Content.ReadAsStringAsync()),
                ["username"] = AdminSession.Officer,
                ["password"] = AdminSession.OfficerPassword,
            }),
        };
        post.Headers.Add("Cookie", string.Join("; ", cookies.Select(c => $"{c.Key}={c.Value.Value}")));
        return (await client.SendAsync(post), cookies);
    }

    private static string SetCookie(HttpResponseMessage response, string name) =>
        response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(name + "=", StringComparison.Ordinal));

    private static string CookieValue(string setCookie)
    {
        var start = setCookie.IndexOf('=', StringComparison.Ordinal) + 1;
        var end = setCookie.IndexOf(';', StringComparison.Ordinal);
        return setCookie[start..(end < 0 ? setCookie.Length : end)];
    }
}
