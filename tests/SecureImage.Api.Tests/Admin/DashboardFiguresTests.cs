using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests.Admin;

/// <summary>
/// The JSON figures agree with what was seeded through the real API, on SQLite and on PostgreSQL:
/// uploads by two bots, a deletion, a withdrawal, two rejections, a report (hold) and a download.
/// </summary>
public sealed class DashboardFiguresTests
{
    private static readonly Dictionary<string, string?> SlowJobs = new()
    {
        // No sweep during the test: the overdue figures must stay as seeded.
        ["SecureImage:Retention:SweepInterval"] = "1.00:00:00",
    };

    [Fact]
    public async Task The_overview_and_series_match_the_seeded_catalog_on_SQLite()
    {
        using var factory = new SecureImageFactory("Testing", Settings());
        await AssertFiguresAsync(factory);
    }

    [Fact]
    public async Task The_overview_and_series_match_the_seeded_catalog_on_PostgreSQL()
    {
        await using var backend = await ProductionBackend.CreateAsync();
        await AssertFiguresAsync(backend.NewInstance(Settings()));
    }

    private static Dictionary<string, string?> Settings()
    {
        var settings = AdminSession.OfficerSettings();
        foreach (var (key, value) in SlowJobs)
        {
            settings[key] = value;
        }

        return settings;
    }

    private static async Task AssertFiguresAsync(SecureImageFactory factory)
    {
        var start = factory.Time.GetUtcNow();
        var botA = factory.CreateBotClient();
        var botB = factory.CreateBotClient(SecureImageFactory.BotBKey);
        var consentA = await botA.CreateConsentAsync("user-a");
        var consentW = await botA.CreateConsentAsync("user-w");
        var consentB = await botB.CreateConsentAsync("user-b");
        var deleted = await botA.UploadOkAsync(consentA, Corpus.Read("jpg_Canon_40D.jpg"));
        var reported = await botA.UploadOkAsync(consentA, Corpus.Read("png_text_gps_xmp.png"));
        var kept = await botA.UploadOkAsync(consentA, Corpus.Read("jpg_gps_DSCN0010.jpg"));
        var withdrawn = await botA.UploadOkAsync(consentW, Corpus.Read("jpg_Canon_40D.jpg"));
        var other = await botB.UploadOkAsync(consentB, Corpus.Read("jpg_Canon_40D.jpg"));
        Assert.Equal(HttpStatusCode.NoContent, (await botA.DeleteAsync($"/v1/images/{deleted.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await botA.DeleteAsync($"/v1/consents/{consentW}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await botA.UploadAsync(null, Corpus.Read("jpg_Canon_40D.jpg"))).StatusCode);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await botA.UploadAsync(consentA, "not an image at all"u8.ToArray(), "x.jpg")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await botA.PostAsJsonAsync($"/v1/images/{reported.Id}/reports", new { reason = "privacy" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await factory.CreateAnonymousClient().GetAsync(ApiClient.PathOf(kept.Link.Url))).StatusCode);
        var admin = await factory.SignInAsync();

        var overview = await admin.GetFromJsonAsync<JsonElement>("/admin/api/overview");

        Assert.Equal(3, overview.GetProperty("imagesStored").GetInt64());
        Assert.Equal(reported.Bytes + kept.Bytes + other.Bytes, overview.GetProperty("bytesStored").GetInt64());
        var byBot = overview.GetProperty("byBot").EnumerateArray().ToDictionary(b => b.GetProperty("botId").GetString()!, b => (b.GetProperty("images").GetInt64(), b.GetProperty("bytes").GetInt64()));
        Assert.Equal((2L, reported.Bytes + kept.Bytes), byBot[SecureImageFactory.BotA]);
        Assert.Equal((1L, other.Bytes), byBot[SecureImageFactory.BotB]);
        Assert.Equal((1, 0, 0, 0, 0), Figures(overview, "held", "blocked", "overdue", "expiringWithinHour", "expiringWithinDay"));
        Assert.False(overview.GetProperty("sweepLagHigh").GetBoolean());

        var hour = await admin.GetFromJsonAsync<JsonElement>("/admin/api/series?bucket=hour");
        var day = await admin.GetFromJsonAsync<JsonElement>("/admin/api/series?bucket=day");
        foreach (var series in new[] { hour, day })
        {
            var bucket = series.GetProperty("buckets").EnumerateArray().Single(b => b.GetProperty("uploads").GetInt64() > 0);
            Assert.True(bucket.GetProperty("start").GetDateTimeOffset() <= start);
            Assert.Equal((5L, 1L, 2L, 2L), (bucket.GetProperty("uploads").GetInt64(), bucket.GetProperty("downloads").GetInt64(), bucket.GetProperty("erasures").GetInt64(), bucket.GetProperty("rejections").GetInt64()));
            Assert.Equal(1, bucket.GetProperty("erasuresByReason").GetProperty("deleted-by-bot").GetInt64());
            Assert.Equal(1, bucket.GetProperty("erasuresByReason").GetProperty("consent-withdrawn").GetInt64());
            Assert.Equal(1, bucket.GetProperty("rejectionsByReason").GetProperty("no-consent").GetInt64());
            Assert.Equal(1, bucket.GetProperty("rejectionsByReason").GetProperty("bad-type").GetInt64());
        }

        Assert.Equal(24, hour.GetProperty("buckets").GetArrayLength());
        Assert.Equal(30, day.GetProperty("buckets").GetArrayLength());

        // Half a day before expiry: the two active images expire within a day, none within the hour.
        // (Days pass on the service's clock, so the 30-minute session has ended: sign in again.)
        factory.Time.Set(kept.ExpiresAt.AddHours(-12));
        admin = await factory.SignInAsync();
        Assert.Equal((2, 0, 0), Figures(await admin.GetFromJsonAsync<JsonElement>("/admin/api/overview"), "expiringWithinDay", "expiringWithinHour", "overdue"));

        // Past expiry with no sweep: both are overdue (the held one is not), and the lag is the oldest one's age.
        factory.Time.Set(other.ExpiresAt.AddMinutes(10));
        admin = await factory.SignInAsync();
        overview = await admin.GetFromJsonAsync<JsonElement>("/admin/api/overview");
        Assert.Equal((2, 1), Figures(overview, "overdue", "held"));
        Assert.Equal(kept.ExpiresAt, overview.GetProperty("oldestOverdueExpiry").GetDateTimeOffset());
        Assert.True(overview.GetProperty("sweepLagSeconds").GetDouble() >= 600);

        // The audit log pages newest first and filters by kind and bot.
        var uploads = await admin.GetFromJsonAsync<JsonElement>($"/admin/api/audit?kind=image.uploaded&bot={SecureImageFactory.BotA}&limit=3");
        Assert.Equal(3, uploads.GetProperty("events").GetArrayLength());
        var next = uploads.GetProperty("nextBefore").GetInt64();
        var rest = await admin.GetFromJsonAsync<JsonElement>($"/admin/api/audit?kind=image.uploaded&bot={SecureImageFactory.BotA}&limit=3&before={next}");
        Assert.Equal(1, rest.GetProperty("events").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, rest.GetProperty("nextBefore").ValueKind);
        Assert.Equal(deleted.Id, rest.GetProperty("events")[0].GetProperty("imageId").GetGuid());

        var lookup = await admin.GetFromJsonAsync<JsonElement>($"/admin/api/lookup/{reported.Id}");
        var kinds = lookup.GetProperty("history").EnumerateArray().Select(e => e.GetProperty("kind").GetString()).ToList();
        Assert.Equal(["image.uploaded", "image.held"], kinds.Where(k => k != "link.issued"));
        Assert.DoesNotContain("subject", lookup.GetRawText(), StringComparison.OrdinalIgnoreCase);
    }

    private static (int, int) Figures(JsonElement o, string a, string b) => ((int)o.GetProperty(a).GetInt64(), (int)o.GetProperty(b).GetInt64());

    private static (int, int, int) Figures(JsonElement o, string a, string b, string c) => ((int)o.GetProperty(a).GetInt64(), (int)o.GetProperty(b).GetInt64(), (int)o.GetProperty(c).GetInt64());

    private static (int, int, int, int, int) Figures(JsonElement o, string a, string b, string c, string d, string e) =>
        ((int)o.GetProperty(a).GetInt64(), (int)o.GetProperty(b).GetInt64(), (int)o.GetProperty(c).GetInt64(), (int)o.GetProperty(d).GetInt64(), (int)o.GetProperty(e).GetInt64());
}
