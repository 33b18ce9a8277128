using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests.Browser;

/// <summary>
/// The dashboard in a real browser: Debian's Chromium (never a downloaded one) driven by Playwright,
/// against the service on a real loopback Kestrel port. A missing Chromium is a failure, never a skip.
/// </summary>
public sealed class DashboardBrowserTests
{
    private const string ChromiumPath = "/usr/bin/chromium";
    private static readonly float Patience = 20_000;

    [Fact]
    public async Task An_admin_signs_in_sees_the_figures_move_after_an_upload_and_a_sweep_looks_up_releases_a_hold_exports_csv_and_signs_out()
    {
        Assert.True(File.Exists(ChromiumPath), $"{ChromiumPath} is missing: install Debian's chromium (`apt-get install -y chromium`); infra/local/test.sh installs it when missing.");
        var settings = AdminSession.OfficerSettings();
        settings["SecureImage:Retention:SweepInterval"] = "00:00:01";
        settings["SecureImage:Retention:ClaimLease"] = "00:00:01";
        using var factory = new SecureImageFactory("Testing", settings);
        factory.Time.Flowing = true;
        factory.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        factory.StartServer();
        var baseUrl = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        using var bot = new HttpClient { BaseAddress = new Uri(baseUrl) };
        bot.DefaultRequestHeaders.Add("X-Api-Key", SecureImageFactory.BotAKey);
        using var botB = new HttpClient { BaseAddress = new Uri(baseUrl) };
        botB.DefaultRequestHeaders.Add("X-Api-Key", SecureImageFactory.BotBKey);

        // Seeded: three images, one of them reported (held). Then the clock moves to 10 minutes before they expire.
        var consent = await bot.CreateConsentAsync();
        var expiring = await bot.UploadOkAsync(consent, Corpus.Read("jpg_Canon_40D.jpg"));
        var reported = await bot.UploadOkAsync(consent, Corpus.Read("png_text_gps_xmp.png"));
        await botB.UploadOkAsync(await botB.CreateConsentAsync(), Corpus.Read("jpg_Canon_40D.jpg"));
        Assert.Equal(HttpStatusCode.Accepted, (await bot.PostAsJsonAsync($"/v1/images/{reported.Id}/reports", new { reason = "privacy" })).StatusCode);
        factory.Time.Set(expiring.ExpiresAt.AddMinutes(-10));

        Assertions.SetDefaultExpectTimeout(Patience);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = baseUrl, AcceptDownloads = true, ViewportSize = new ViewportSize { Width = 1280, Height = 1400 } });
        context.SetDefaultTimeout(Patience);
        var page = await context.NewPageAsync();
        var consoleErrors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                consoleErrors.Add(message.Text);
            }
        };

        // Unauthenticated: the page sends the browser to sign-in.
        await page.GotoAsync("/admin");
        Assert.EndsWith("/admin/sign-in", page.Url, StringComparison.Ordinal);
        await page.GetByLabel("User name").FillAsync(AdminSession.Officer);
        await page.GetByLabel("Password").FillAsync(AdminSession.OfficerPassword);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.WaitForURLAsync("**/admin");

        // The figures match the seeded catalog.
        await Assertions.Expect(page.Locator("#stored-count")).ToHaveTextAsync("3");
        await Assertions.Expect(page.Locator("#held-count")).ToHaveTextAsync("1");
        await Assertions.Expect(page.Locator("#expiring-hour")).ToHaveTextAsync("2");
        await Assertions.Expect(page.Locator("#overdue-count")).ToHaveTextAsync("0");
        await Assertions.Expect(page.Locator("#admin-user")).ToHaveTextAsync(AdminSession.Officer);
        // The uploads were three days ago (by the service's clock): the per-day chart shows them.
        await page.GetByLabel("Bars per").SelectOptionAsync("day");
        await Assertions.Expect(page.Locator("#chart-uploads svg rect.bar")).ToHaveCountAsync(1);
        var screenshot = Path.Combine(Corpus.RepositoryRoot, "TestResults", "browser", "dashboard-overview.png");
        Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });

        // An upload shows up without a reload.
        await bot.UploadOkAsync(consent, Corpus.Read("jpg_gps_DSCN0010.jpg"));
        await Assertions.Expect(page.Locator("#stored-count")).ToHaveTextAsync("4");

        // The seeded images expire; the sweep erases the two not on hold, and the page follows.
        factory.Time.Set(expiring.ExpiresAt.AddMinutes(1));
        await Assertions.Expect(page.Locator("#stored-count")).ToHaveTextAsync("2");
        await Assertions.Expect(page.Locator("#job-runs tbody")).ToContainTextAsync("retention-sweep");

        // The Jobs panel links to the job scheduler's dashboard (same session): the three recurring jobs are
        // there, and its "Back to site" returns to the panel. Its polls and pages run under the admin headers.
        await page.GetByRole(AriaRole.Link, new() { Name = "Job scheduler dashboard" }).ClickAsync();
        await page.WaitForURLAsync("**/admin/jobs");
        await page.GetByRole(AriaRole.Link, new() { Name = "Recurring Jobs" }).First.ClickAsync();
        await page.WaitForURLAsync("**/admin/jobs/recurring");
        foreach (var id in new[] { "retention-sweep", "orphan-reconciliation", "job-run-purge" })
        {
            await Assertions.Expect(page.Locator("table")).ToContainTextAsync(id);
        }

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetDirectoryName(screenshot)!, "jobs-recurring.png"), FullPage = true });

        // A sweep that ran, in Hangfire's words: no arguments beyond what Hangfire supplies itself.
        await page.GotoAsync("/admin/jobs/jobs/succeeded");
        await page.GetByRole(AriaRole.Link, new() { Name = "RetentionSweepJob.RunAsync" }).First.ClickAsync();
        await page.WaitForURLAsync("**/admin/jobs/jobs/details/*");
        await Assertions.Expect(page.Locator(".job-snippet-code")).ToContainTextAsync("RunAsync");
        await page.GotoAsync("/admin/jobs/recurring");
        await page.GetByRole(AriaRole.Link, new() { Name = "Back to site" }).ClickAsync();
        await page.WaitForURLAsync("**/admin#jobs");
        await Assertions.Expect(page.Locator("#job-runs tbody")).ToContainTextAsync("retention-sweep");

        // Lookup: the erased image's life from the audit log.
        await page.GetByLabel("Image or consent id").FillAsync(expiring.Id.ToString());
        await page.GetByRole(AriaRole.Button, new() { Name = "Look up" }).ClickAsync();
        await Assertions.Expect(page.Locator("#lookup-history")).ToContainTextAsync("image.uploaded");
        await Assertions.Expect(page.Locator("#lookup-history")).ToContainTextAsync("image.erased");
        await Assertions.Expect(page.Locator("#lookup-summary")).ToContainTextAsync("erased");

        // Releasing the hold (with a reason): it is audited, and the now-expired image is swept.
        await page.GetByLabel($"Reason for releasing {reported.Id.ToString()[..8]}").FillAsync("reviewed: no violation");
        await page.GetByRole(AriaRole.Button, new() { Name = "Release hold" }).ClickAsync();
        await Assertions.Expect(page.Locator("#holds-status")).ToContainTextAsync("Released the hold");
        await Assertions.Expect(page.Locator("#held-count")).ToHaveTextAsync("0");
        await Assertions.Expect(page.Locator("#stored-count")).ToHaveTextAsync("1");

        // CSV export of the audit log, filtered by kind.
        await page.GetByLabel("Kind").SelectOptionAsync("image.hold-released");
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await Assertions.Expect(page.Locator("#audit-events tbody")).ToContainTextAsync("admin:operator:local:officer (officer)");
        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Link, new() { Name = "Export CSV" }).ClickAsync());
        Assert.EndsWith(".csv", download.SuggestedFilename, StringComparison.Ordinal);
        var csv = await File.ReadAllTextAsync((await download.PathAsync())!);
        Assert.StartsWith("seq,at,kind,bot,image_id,consent_id,actor,reason", csv, StringComparison.Ordinal);
        Assert.Contains($"image.hold-released,{SecureImageFactory.BotA},{reported.Id},", csv, StringComparison.Ordinal);
        Assert.Contains("admin:operator:local:officer (officer),reviewed: no violation", csv, StringComparison.Ordinal);

        // Sign out: back to sign-in, and the dashboard is closed again.
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await page.WaitForURLAsync("**/admin/sign-in");
        await page.GotoAsync("/admin");
        Assert.EndsWith("/admin/sign-in", page.Url, StringComparison.Ordinal);
        Assert.True(consoleErrors.Count == 0, string.Join("\n", consoleErrors));
    }
}
