using System.Net;
using Microsoft.Extensions.Logging;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests.Admin;

/// <summary>
/// The dashboard API's query parameters with extreme and malformed values: never a 500, every error a
/// problem+json, dates outside the accepted range a 400. On SQLite and on PostgreSQL (whose date types differ).
/// </summary>
public sealed class AdminQueryFuzzTests
{
    private static readonly string[] Dates =
    [
        "0001-01-01T00:00:00Z", "0001-01-01", "0001-01-01T00:00:00%2B14:00", "0001-01-01T23:59:59-14:00", "1969-12-31T23:59:59Z",
        "1970-01-01T00:00:00Z", "2026-11-23T09:00:00Z", "2026-11-23", "2026-11-23T09:00:00-14:00", "2026-11-23T09:00:00%2B14:00",
        "9998-12-31T23:59:59Z", "9999-01-01T00:00:00Z", "9999-12-31T23:59:59.9999999Z", "9999-12-31T23:59:59-14:00", "9999-12-31",
        "10000-01-01", "-0001-01-01", "2026-13-45", "garbage", "", "1e9", "%00", "2026-11-23T09:00:00.123456789012Z",
    ];

    private static readonly string[] Integers =
    [
        "0", "-1", "1", "500", "501", "2147483647", "2147483648", "-2147483648", "-2147483649", "9223372036854775807",
        "9223372036854775808", "-9223372036854775808", "99999999999999999999999", "1.5", "1e3", "0x10", "abc", "", "%20", "+1",
    ];

    private static readonly string[] Texts = ["", "image.uploaded", "bot-a", new string('x', 64), new string('x', 65), "%00", "'%3B drop table audit%3B--", "%F0%9F%98%80", "%ZZ"];

    private static readonly string[] Buckets = ["hour", "day", "", "HOUR", "Day", "week", "minute", new string('h', 2000), "%00"];

    [Fact]
    public async Task Extreme_dashboard_queries_never_answer_500_on_SQLite()
    {
        using var factory = new SecureImageFactory("Testing", AdminSession.OfficerSettings());
        await AssertNoServerErrorsAsync(factory);
    }

    [Fact]
    public async Task Extreme_dashboard_queries_never_answer_500_on_PostgreSQL()
    {
        await using var backend = await ProductionBackend.CreateAsync();
        await AssertNoServerErrorsAsync(backend.NewInstance(AdminSession.OfficerSettings()));
    }

    [Theory]
    [InlineData("/admin/api/series?to=0001-01-01T00:00:00Z")]
    [InlineData("/admin/api/series?bucket=day&to=0001-01-01T00:00:00Z")]
    [InlineData("/admin/api/series?bucket=hour&from=0001-01-01T00:00:00Z&to=0001-01-02T00:00:00Z")]
    [InlineData("/admin/api/series?bucket=day&from=9999-12-30T00:00:00Z&to=9999-12-31T23:59:59Z")]
    [InlineData("/admin/api/series?to=9999-12-31T23:59:59.9999999Z")]
    [InlineData("/admin/api/series?from=1969-12-31T00:00:00Z&to=1970-01-01T01:00:00Z")]
    [InlineData("/admin/api/series?bucket=day&from=2026-11-01T00:00:00Z&to=2026-10-01T00:00:00Z")]
    [InlineData("/admin/api/series?bucket=hour&from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z")]
    [InlineData("/admin/api/audit?from=0001-01-01T00:00:00Z")]
    [InlineData("/admin/api/audit?to=9999-12-31T23:59:59Z")]
    [InlineData("/admin/api/audit.csv?from=0001-01-01T00:00:00Z&to=0001-01-02T00:00:00Z")]
    public async Task Out_of_range_or_reversed_dates_answer_400_bad_request(string path)
    {
        using var factory = new SecureImageFactory("Testing", AdminSession.OfficerSettings());
        var admin = await factory.SignInAsync();

        var problem = await (await admin.GetAsync(path)).AssertProblemAsync(HttpStatusCode.BadRequest, "bad-request");

        Assert.DoesNotContain("0001", problem.Detail!, StringComparison.Ordinal);
        Assert.DoesNotContain("9999-12-31", problem.Detail!, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/admin/api/series?bucket=hour&from=1970-01-01T00:00:00Z&to=1970-01-02T00:00:00Z", 24)]
    [InlineData("/admin/api/series?bucket=day&from=9998-10-01T00:00:00Z&to=9999-01-01T00:00:00Z", 92)]
    public async Task Series_at_the_edges_of_the_accepted_range_answer_200(string path, int buckets)
    {
        using var factory = new SecureImageFactory("Testing", AdminSession.OfficerSettings());
        var admin = await factory.SignInAsync();

        var response = await admin.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(buckets, body.GetProperty("buckets").GetArrayLength());
    }

    private static async Task AssertNoServerErrorsAsync(SecureImageFactory factory)
    {
        var admin = await factory.SignInAsync();
        var bot = factory.CreateBotClient();
        var uploaded = await bot.UploadOkAsync(await bot.CreateConsentAsync(), Corpus.Read("jpg_Canon_40D.jpg"));
        var random = new Random(1306);
        var paths = new List<string>();

        // Every value of every parameter alone, then random combinations.
        paths.AddRange(Dates.SelectMany(d => new[] { $"series?from={d}", $"series?to={d}", $"series?bucket=day&to={d}", $"series?bucket=day&from={d}", $"audit?from={d}", $"audit?to={d}", $"audit.csv?from={d}" }));
        paths.AddRange(Buckets.Select(b => $"series?bucket={b}"));
        paths.AddRange(Integers.SelectMany(i => new[] { $"jobs?count={i}", $"audit?limit={i}", $"audit?before={i}" }));
        paths.AddRange(Texts.SelectMany(t => new[] { $"audit?kind={t}", $"audit?bot={t}", $"audit.csv?kind={t}&bot={t}" }));
        paths.AddRange(new[] { Guid.Empty.ToString(), Guid.NewGuid().ToString(), uploaded.Id.ToString(), "not-a-guid", new string('a', 3000), $"{uploaded.Id}x" }.Select(id => $"lookup/{id}"));
        paths.AddRange(["overview", "holds", "session", "jobs", "audit", "series"]);
        for (var i = 0; i < 150; i++)
        {
            string Pick(string[] values) => values[random.Next(values.Length)];
            paths.Add($"series?bucket={Pick(Buckets)}&from={Pick(Dates)}&to={Pick(Dates)}");
            paths.Add($"audit?from={Pick(Dates)}&to={Pick(Dates)}&kind={Pick(Texts)}&bot={Pick(Texts)}&before={Pick(Integers)}&limit={Pick(Integers)}");
        }

        var failures = new List<string>();
        foreach (var path in paths)
        {
            var response = await admin.GetAsync("/admin/api/" + path);
            var status = (int)response.StatusCode;
            var mediaType = response.Content.Headers.ContentType?.MediaType;
            if (status >= 500 || (status >= 400 && mediaType != "application/problem+json"))
            {
                var body = await response.Content.ReadAsStringAsync();
                failures.Add($"{path} -> {status} {mediaType}: {body[..Math.Min(200, body.Length)]}");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {paths.Count} queries failed, e.g.:\n{string.Join("\n", failures.Take(8))}");
        Assert.Empty(factory.Logs.AtLeast(LogLevel.Error));
    }
}
