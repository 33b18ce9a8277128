using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using SecureImage.Api.Tests.Kakao;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests;

/// <summary>
/// A body Kestrel cannot read (chunked framing that is broken, or that stops arriving) is the client's fault, on a
/// real Kestrel server over raw TCP: the JSON endpoints answer a 4xx problem, the Kakao skill answers
/// <c>invalid</c>; never a 500, never an outage, never an Error log.
/// </summary>
public sealed class UnreadableBodyTests : IClassFixture<UnreadableBodyTests.Server>
{
    private const string Marker = "body-marker-9d2e";
    private readonly Server _server;

    public UnreadableBodyTests(Server server) => _server = server;

    /// <summary>Chunked bodies Kestrel refuses, each starting with a JSON fragment that holds the marker.</summary>
    public static TheoryData<string, string> Framings => new()
    {
        { "a chunk size that overflows", $"FFFFFFFFFFFFFFFFFFFF\r\n{{\"{Marker}\"\r\n0\r\n\r\n" },
        { "a chunk size that is not hex", $"ZZ\r\n{{\"{Marker}\"\r\n0\r\n\r\n" },
        { "a chunk longer than its size", $"3\r\n{{\"{Marker}\"\r\n0\r\n\r\n" },
        { "a trailer over 32 KiB", $"0\r\nX-Trailer: {Marker}{new string('t', 40_000)}\r\n\r\n" },
    };

    public static TheoryData<string, string, string> EndpointsAndFramings
    {
        get
        {
            var data = new TheoryData<string, string, string>();
            foreach (var endpoint in new[] { "consents", "reports", "release" })
            {
                foreach (var framing in Framings)
                {
                    data.Add(endpoint, (string)framing[0], (string)framing[1]);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(EndpointsAndFramings))]
    public async Task A_json_body_in_broken_chunked_framing_answers_a_4xx_problem_and_logs_no_error(string endpoint, string what, string chunked)
    {
        var logsBefore = _server.Factory.Logs.Entries.Count;
        var (path, headers) = await TargetAsync(endpoint);

        var response = Assert.Single(await RawHttp.SendAsync(_server.Address, Chunked(path, headers, chunked)));

        Assert.True(response.Status is >= 400 and < 500, $"{what} on {endpoint}: {response.Status} {response.BodyText}");
        Assert.Equal("application/problem+json", response.Header("Content-Type"));
        Assert.StartsWith(ApiClient.ProblemPrefix, JsonDocument.Parse(response.Body).RootElement.GetProperty("type").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Marker, response.BodyText, StringComparison.Ordinal);
        AssertNoErrorLogSince(logsBefore);
    }

    [Theory]
    [MemberData(nameof(Framings))]
    public async Task A_kakao_body_in_broken_chunked_framing_is_invalid_not_an_outage(string what, string chunked)
    {
        var logsBefore = _server.Factory.Logs.Entries.Count;

        var response = Assert.Single(await RawHttp.SendAsync(_server.Address, Chunked("/kakao/skill", BotHeaders, chunked)));

        AssertInvalidSkillAnswer(response, what);
        AssertNoErrorLogSince(logsBefore);
    }

    [Fact]
    public async Task A_kakao_body_that_stops_arriving_is_invalid_not_an_outage()
    {
        var logsBefore = _server.Factory.Logs.Entries.Count;
        var partial = $"POST /kakao/skill HTTP/1.1\r\nHost: a\r\n{BotHeaders}Content-Type: application/json\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n{{\"{Marker}\"";

        // Kestrel ends a body that arrives slower than its minimum data rate (after a 5 s grace period) with a 408 verdict.
        var response = Assert.Single(await RawHttp.SendAsync(_server.Address, RawHttp.Ascii(partial)));

        AssertInvalidSkillAnswer(response, "a stalled body");
        AssertNoErrorLogSince(logsBefore);
    }

    private static string BotHeaders => $"X-Api-Key: {SecureImageFactory.BotAKey}\r\n";

    private static byte[] Chunked(string path, string headers, string chunked) =>
        RawHttp.Ascii($"POST {path} HTTP/1.1\r\nHost: a\r\n{headers}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{chunked}");

    private static void AssertInvalidSkillAnswer(RawResponse response, string what)
    {
        Assert.True(response.Status == 200, $"{what}: {response.Status} {response.BodyText}");
        var json = JsonDocument.Parse(response.Body).RootElement;
        KakaoTestHost.AssertSkillResponse(json);
        Assert.Equal("invalid", json.Data("status"));
    }

    private void AssertNoErrorLogSince(int logsBefore)
    {
        var logs = _server.Factory.Logs.Entries.Skip(logsBefore).ToList();
        Assert.DoesNotContain(logs, e => e.Level >= LogLevel.Error);
        Assert.DoesNotContain(logs, e => e.ToString().Contains(Marker, StringComparison.Ordinal));
    }

    /// <summary>The path and the credential headers of a request to <paramref name="endpoint"/>.</summary>
    private async Task<(string Path, string Headers)> TargetAsync(string endpoint)
    {
        switch (endpoint)
        {
            case "consents":
                return ("/v1/consents", BotHeaders);
            case "reports":
                var bot = _server.Factory.CreateBotClient();
                var uploaded = await bot.UploadOkAsync(await bot.CreateConsentAsync(), Corpus.Read("jpg_Canon_40D.jpg"));
                return ($"/v1/images/{uploaded.Id}/reports", BotHeaders);
            default:
                // A real cookie container, so the raw request can carry the admin session's cookies.
                var cookies = new CookieContainer();
                using (var admin = new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false }) { BaseAddress = _server.Address })
                {
                    Assert.Equal(HttpStatusCode.Redirect, (await admin.PostSignInAsync(AdminSession.Officer, AdminSession.OfficerPassword)).StatusCode);
                    var csrf = await admin.CsrfTokenAsync();
                    var cookie = cookies.GetCookieHeader(new Uri(_server.Address, "/admin/api/"));
                    return ($"/admin/api/holds/{Guid.NewGuid()}/release", $"Cookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\n");
                }
        }
    }

    /// <summary>The service on Kestrel with a configured admin.</summary>
    public sealed class Server : IDisposable
    {
        public Server()
        {
            Factory = SecureImageFactory.OnKestrel(AdminSession.OfficerSettings());
            Address = Factory.ClientOptions.BaseAddress;
        }

        public SecureImageFactory Factory { get; }

        public Uri Address { get; }

        public void Dispose() => Factory.Dispose();
    }
}
