using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using SecureImage.Api.Tests.TestSupport;
using SecureImage.Core.Catalog;

namespace SecureImage.Api.Tests.Browser;

/// <summary>
/// OpenID Connect sign-in end to end: Debian's Chromium (Playwright) through a real provider (npm oidc-provider on
/// loopback, <see cref="OidcTestProvider"/>) to the service on a real Kestrel port, in Development (the only environment
/// that accepts an http authority, and only on loopback).
/// </summary>
public sealed class OidcSignInBrowserTests
{
    private const string ChromiumPath = "/usr/bin/chromium";
    private static readonly float Patience = 20_000;

    [Fact]
    public async Task A_viewer_signed_in_through_the_provider_is_refused_the_release_with_403_and_an_operator_releases_the_hold()
    {
        await using var run = await Run.StartAsync();
        var held = await run.HeldImageAsync();

        // The viewer: the dashboard opens with the provider's display name and the role; the release is refused.
        var viewer = await run.SignInAsync("viewer");
        await Assertions.Expect(viewer.Locator("#admin-user")).ToHaveTextAsync("Vera Viewer");
        await Assertions.Expect(viewer.Locator("#admin-role")).ToHaveTextAsync("viewer");
        await Assertions.Expect(viewer.Locator("#held-count")).ToHaveTextAsync("1");
        await viewer.GetByLabel($"Reason for releasing {held.ToString()[..8]}").FillAsync("viewer tries");
        var refused = await viewer.RunAndWaitForResponseAsync(
            () => viewer.GetByRole(AriaRole.Button, new() { Name = "Release hold" }).ClickAsync(),
            response => response.Url.EndsWith("/release", StringComparison.Ordinal));
        Assert.Equal(403, refused.Status);
        Assert.StartsWith("application/problem+json", refused.Headers["content-type"], StringComparison.Ordinal);
        await Assertions.Expect(viewer.Locator("#holds-status")).ToContainTextAsync("Could not release");
        Assert.Equal(ImageState.Held, (await run.Catalog.FindImageAsync(held, CancellationToken.None))!.State);

        // The operator releases it; the audit names the role, the provider's subject and the display name.
        var @operator = await run.SignInAsync("operator");
        await Assertions.Expect(@operator.Locator("#admin-role")).ToHaveTextAsync("operator");
        await @operator.GetByLabel($"Reason for releasing {held.ToString()[..8]}").FillAsync("reviewed by the operator");
        await @operator.GetByRole(AriaRole.Button, new() { Name = "Release hold" }).ClickAsync();
        await Assertions.Expect(@operator.Locator("#holds-status")).ToContainTextAsync("Released the hold");
        var history = await run.Catalog.GetHistoryAsync(held, CancellationToken.None);
        Assert.Contains(history, e => e.Kind == Core.Retention.HoldAuditKinds.HoldReleased && e.Actor == "admin:operator:oidc:operator (Otto Operator)");
        Assert.True(run.ConsoleErrors.Count == 0, string.Join("\n", run.ConsoleErrors));
    }

    [Fact]
    public async Task An_account_without_a_role_is_refused_and_gets_no_session()
    {
        await using var run = await Run.StartAsync();

        var page = await run.SignInAsync("norole", expectDashboard: false);

        await page.WaitForURLAsync("**/admin/sign-in?error=oidc");
        await Assertions.Expect(page.Locator("#sign-in-error")).ToContainTextAsync("did not succeed");
        await page.GotoAsync("/admin");
        Assert.EndsWith("/admin/sign-in", page.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_role_removed_or_changed_at_the_provider_ends_the_session_at_the_next_recheck_while_an_unchanged_one_goes_on()
    {
        await using var run = await Run.StartAsync();
        var viewer = await run.SignInAsync("viewer");
        var @operator = await run.SignInAsync("operator");
        var second = await run.SignInAsync("operator");

        await run.Provider.SetRolesAsync("operator", "viewer");
        Assert.Equal(200, await StatusAsync(@operator)); // not due yet: the session still has its role

        run.Advance(RecheckInterval);

        // The provider now says viewer: a changed role ends the session. (Seen once answered 200 in CI; the service's
        // recheck log lines say why if it happens again.)
        var changed = await StatusAsync(@operator);
        Assert.True(changed == 401, $"answered {changed}; the service logged: {run.SecurityLog()}");
        Assert.Equal(401, await StatusAsync(@operator)); // revoked in the catalog, not refused once
        Assert.Equal(200, await StatusAsync(viewer)); // rechecked and confirmed; the rotated refresh token is kept

        await run.Provider.SetRolesAsync("operator");
        run.Advance(RecheckInterval);
        Assert.Equal(401, await StatusAsync(second)); // no role at all
        Assert.Equal(200, await StatusAsync(viewer)); // the second recheck redeems the rotated token (the old one is spent)
    }

    [Fact]
    public async Task While_the_provider_is_down_a_session_is_kept_for_its_grace_and_then_ended()
    {
        await using var run = await Run.StartAsync();
        var viewer = await run.SignInAsync("viewer");

        run.Provider.Stop();
        run.Advance(RecheckInterval);
        Assert.Equal(200, await StatusAsync(viewer)); // recheck due, provider unreachable: kept within the 10-minute grace

        run.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(401, await StatusAsync(viewer)); // past the grace: ended
    }

    [Theory]
    [InlineData("state")]
    [InlineData("nonce")]
    [InlineData("code")]
    public async Task A_callback_with_a_tampered_state_nonce_or_code_is_refused(string tampered)
    {
        await using var run = await Run.StartAsync();

        var page = tampered == "nonce"
            ? await run.SignInAsync("operator", expectDashboard: false, atProvider: async context =>
            {
                // While the browser is at the provider, the nonce cookie of its challenge goes: the ID token's nonce then matches
                // nothing this browser was issued. (The nonce itself travels in a pushed authorization request, out of reach.)
                await context.ClearCookiesAsync(new BrowserContextClearCookiesOptions { NameRegex = new System.Text.RegularExpressions.Regex(@"^\.AspNetCore\.OpenIdConnect\.Nonce\.") });
            })
            : await run.SignInAsync("operator", expectDashboard: false, tamper: async route =>
            {
                var form = route.Request.PostData ?? "";
                form = tampered == "state"
                    ? System.Text.RegularExpressions.Regex.Replace(form, "state=[^&]+", "state=CfDJ8forged" + new string('A', 40))
                    : System.Text.RegularExpressions.Regex.Replace(form, "code=[^&]+", "code=forged-code");
                await route.ContinueAsync(new RouteContinueOptions { PostData = System.Text.Encoding.UTF8.GetBytes(form) });
            });

        await page.WaitForURLAsync("**/admin/sign-in?error=oidc");
        await page.GotoAsync("/admin");
        Assert.EndsWith("/admin/sign-in", page.Url, StringComparison.Ordinal);
    }

    /// <summary>The default <c>Admin:Oidc:RoleRecheckInterval</c> and a second.</summary>
    private static readonly TimeSpan RecheckInterval = TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1);

    /// <summary>The status of a dashboard API read made by the page's own session.</summary>
    private static Task<int> StatusAsync(IPage page) => page.EvaluateAsync<int>("async () => (await fetch('/admin/api/session')).status");

    private sealed class Run : IAsyncDisposable
    {
        private readonly OidcTestProvider _provider;
        private readonly SecureImageFactory _factory;
        private readonly IPlaywright _playwright;
        private readonly IBrowser _browser;

        private Run(OidcTestProvider provider, SecureImageFactory factory, IPlaywright playwright, IBrowser browser, string baseUrl)
        {
            _provider = provider;
            _factory = factory;
            _playwright = playwright;
            _browser = browser;
            BaseUrl = baseUrl;
        }

        public string BaseUrl { get; }

        public OidcTestProvider Provider => _provider;

        /// <summary>Moves the service's clock on (it keeps flowing); the provider's tokens stay on real time.</summary>
        public void Advance(TimeSpan by) => _factory.Time.Advance(by);

        /// <summary>What the service logged about admin sessions and the provider (opaque ids and reason codes only).</summary>
        public string SecurityLog() => string.Join(" | ", _factory.Logs.Entries
            .Where(entry => entry.Category.StartsWith("SecureImage.Api.Security", StringComparison.Ordinal) || entry.Level >= Microsoft.Extensions.Logging.LogLevel.Warning)
            .Select(entry => entry.ToString()));

        public List<string> ConsoleErrors { get; } = [];

        public IImageCatalog Catalog => _factory.Services.GetRequiredService<IImageCatalog>();

        public static async Task<Run> StartAsync()
        {
            Assert.True(File.Exists(ChromiumPath), $"{ChromiumPath} is missing: install Debian's chromium (`apt-get install -y chromium`); infra/local/test.sh installs it when missing.");
            var port = OidcTestProvider.FreePort();
            var baseUrl = $"http://127.0.0.1:{port}";
            var provider = await OidcTestProvider.StartAsync(new Uri(baseUrl + "/admin/signin-oidc"));
            var settings = AdminSession.OfficerSettings();
            foreach (var (key, value) in provider.Settings())
            {
                settings[key] = value;
            }

            SecureImageFactory? factory = null;
            IPlaywright? playwright = null;
            try
            {
                factory = new SecureImageFactory("Development", settings);

                // The provider's tokens carry the real time: the service's clock runs with it.
                factory.Time.Set(DateTimeOffset.UtcNow);
                factory.Time.Flowing = true;
                factory.UseKestrel(options => options.Listen(IPAddress.Loopback, port));
                factory.StartServer();
                Assertions.SetDefaultExpectTimeout(Patience);
                playwright = await Playwright.CreateAsync();
                var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
                {
                    ExecutablePath = ChromiumPath,
                    Headless = true,
                    Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
                });
                return new Run(provider, factory, playwright, browser, baseUrl);
            }
            catch
            {
                // A service that did not start must not leave the provider's node process behind (first, whatever else throws).
                provider.Dispose();
                playwright?.Dispose();
                if (factory is not null)
                {
                    await factory.DisposeAsync();
                }

                throw;
            }
        }

        public async Task<Guid> HeldImageAsync()
        {
            using var bot = new HttpClient { BaseAddress = new Uri(BaseUrl) };
            bot.DefaultRequestHeaders.Add("X-Api-Key", SecureImageFactory.BotAKey);
            var uploaded = await bot.UploadOkAsync(await bot.CreateConsentAsync(), Corpus.Read("jpg_Canon_40D.jpg"));
            Assert.Equal(HttpStatusCode.Accepted, (await bot.PostAsJsonAsync($"/v1/images/{uploaded.Id}/reports", new { reason = "privacy" })).StatusCode);
            return uploaded.Id;
        }

        /// <summary>A fresh browser context through the sign-in page's provider button and the provider's login and consent pages.</summary>
        public async Task<IPage> SignInAsync(string user, bool expectDashboard = true, Func<IRoute, Task>? tamper = null, Func<IBrowserContext, Task>? atProvider = null)
        {
            var context = await _browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = BaseUrl, ViewportSize = new ViewportSize { Width = 1280, Height = 1400 } });
            context.SetDefaultTimeout(Patience);
            if (tamper is not null)
            {
                await context.RouteAsync("**/admin/signin-oidc", tamper);
            }

            var page = await context.NewPageAsync();
            page.Console += (_, message) =>
            {
                // The viewer's refused release is the one expected failed request.
                if (message.Type == "error" && page.Url.StartsWith(BaseUrl, StringComparison.Ordinal) && !message.Text.Contains("status of 403", StringComparison.Ordinal))
                {
                    ConsoleErrors.Add(message.Text);
                }
            };
            await page.GotoAsync("/admin/sign-in");
            await page.GetByRole(AriaRole.Link, new() { Name = "Sign in with the test provider" }).ClickAsync();
            await page.WaitForURLAsync(_provider.Issuer + "**");
            if (atProvider is not null)
            {
                await atProvider(context);
            }

            await page.Locator("input[name=login]").FillAsync(user);
            await page.Locator("input[name=password]").FillAsync("any password");
            await page.Locator("button[type=submit]").ClickAsync();
            var consent = page.GetByRole(AriaRole.Button, new() { Name = "Continue" });
            await consent.ClickAsync();
            if (expectDashboard)
            {
                await page.WaitForURLAsync(BaseUrl + "/admin");
            }

            return page;
        }

        public async ValueTask DisposeAsync()
        {
            await _browser.DisposeAsync();
            _playwright.Dispose();
            await _factory.DisposeAsync();
            _provider.Dispose();
        }
    }
}
