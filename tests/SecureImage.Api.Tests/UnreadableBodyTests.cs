using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using SecureImage.Api.Tests.Kakao;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests;

/// <summary>
/// A body Kestrel cannot read (chunked framing that is broken, or that stops arriving) is the client's fault, on a
/// real Kestrel server over raw TCP: the JSON endpoints and uploads answer Kestrel's 4xx as a problem, the Kakao skill
/// answers <c>invalid</c>; never a 500, never an outage, never an Error log.
/// </summary>
public sealed class UnreadableBodyTests : IClassFixture<UnreadableBodyTests.Server>
{
    private const string Marker = "body-marker-9d2e";
    private readonly Server _server;

    public UnreadableBodyTests(Server server) => _server = server;

    /// <summary>Chunked bodies Kestrel refuses, each starting with a fragment that holds the marker, and Kestrel's status for each.</summary>
    public static TheoryData<string, string, int> Framings => new()
    {
        { "a chunk size that overflows", $"FFFFFFFFFFFFFFFFFFFF\r\n{{\"{Marker}\"\r\n0\r\n\r\n", 400 },
        { "a chunk size that is not hex", $"ZZ\r\n{{\"{Marker}\"\r\n0\r\n\r\n", 400 },
        { "a chunk longer than its size", $"3\r\n{{\"{Marker}\"\r\n0\r\n\r\n", 400 },
        { "a trailer over 32 KiB", $"0\r\nX-Trailer: {Marker}{new string('t', 40_000)}\r\n\r\n", 431 },
    };

    public static TheoryData<string, string, string, int> EndpointsAndFramings
    {
        get
        {
            var data = new TheoryData<string, string, string, int>();
            foreach (var endpoint in new[] { "consents", "reports", "release", "uploads" })
            {
                foreach (var framing in Framings)
                {
                    data.Add(endpoint, (string)framing[0], (string)framing[1], (int)framing[2]);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(EndpointsAndFramings))]
    public async Task A_body_in_broken_chunked_framing_answers_kestrels_status_as_a_problem_and_logs_no_error(string endpoint, string what, string chunked, int status)
    {
        var logsBefore = _server.Factory.Logs.Entries.Count;
        var (path, headers) = await TargetAsync(endpoint);

        var response = Assert.Single(await RawHttp.SendAsync(_server.Address, Chunked(path, headers, chunked)));

        AssertProblem(response, status, $"{what} on {endpoint}");
        AssertNoErrorLogSince(logsBefore);
    }

    [Theory]
    [InlineData("consents")]
    [InlineData("uploads")]
    public async Task A_body_that_stops_arriving_answers_408(string endpoint)
    {
        var logsBefore = _server.Factory.Logs.Entries.Count;
        var (path, headers) = await TargetAsync(endpoint);

        // Kestrel ends a body that arrives slower than its minimum data rate (after a 5 s grace period) with a 408 verdict.
        var response = Assert.Single(await RawHttp.SendAsync(_server.Address, RawHttp.Ascii(
            $"POST {path} HTTP/1.1\r\nHost: a\r\n{headers}Content-Length: 1000\r\nConnection: close\r\n\r\n{{\"{Marker}\"")));

        AssertProblem(response, 408, $"a stalled body on {endpoint}");
        AssertNoErrorLogSince(logsBefore);
    }

    [Theory]
    [MemberData(nameof(Framings))]
    public async Task A_kakao_body_in_broken_chunked_framing_is_invalid_not_an_outage(string what, string chunked, int status)
    {
        _ = status;
        var logsBefore = _server.Factory.Logs.Entries.Count;

        var response = Assert.Single(await RawHttp.SendAsync(_server.Address, Chunked("/kakao/skill", BotHeaders + Json, chunked)));

        AssertInvalidSkillAnswer(response, what);
        AssertNoErrorLogSince(logsBefore);
    }

    [Fact]
    public async Task A_kakao_body_that_stops_arriving_is_invalid_not_an_outage()
    {
        var logsBefore = _server.Factory.Logs.Entries.Count;
        var partial = $"POST /kakao/skill HTTP/1.1\r\nHost: a\r\n{BotHeaders}{Json}Content-Length: 1000\r\nConnection: close\r\n\r\n{{\"{Marker}\"";

        // Kestrel ends a body that arrives slower than its minimum data rate (after a 5 s grace period) with a 408 verdict.
        var response = Assert.Single(await RawHttp.SendAsync(_server.Address, RawHttp.Ascii(partial)));

        AssertInvalidSkillAnswer(response, "a stalled body");
        AssertNoErrorLogSince(logsBefore);
    }

    private static string BotHeaders => $"X-Api-Key: {SecureImageFactory.BotAKey}\r\n";

    private static string Json => "Content-Type: application/json\r\n";

    private static byte[] Chunked(string path, string headers, string chunked) =>
        RawHttp.Ascii($"POST {path} HTTP/1.1\r\nHost: a\r\n{headers}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{chunked}");

    private static void AssertProblem(RawResponse response, int status, string what)
    {
        Assert.True(response.Status == status, $"{what}: {response.Status} {response.BodyText}");
        Assert.Equal("application/problem+json", response.Header("Content-Type"));
        var problem = JsonDocument.Parse(response.Body).RootElement;
        Assert.StartsWith(ApiClient.ProblemPrefix, problem.GetProperty("type").GetString(), StringComparison.Ordinal);
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.DoesNotContain(Marker, response.BodyText, StringComparison.Ordinal);
    }

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

    /// <summary>The path and the credential and content-type headers of a request to <paramref name="endpoint"/>.</summary>
    private async Task<(string Path, string Headers)> TargetAsync(string endpoint)
    {
        switch (endpoint)
        {
            case "consents":
                return ("/v1/consents", BotHeaders + Json);
            case "uploads":
                return ("/v1/images", BotHeaders + "Content-Type: multipart/form-data; boundary=b\r\n");
            case "reports":
                var bot = _server.Factory.CreateBotClient();
                var uploaded = await bot.UploadOkAsync(await bot.CreateConsentAsync(), Corpus.Read("jpg_Canon_40D.jpg"));
                return ($"/v1/images/{uploaded.Id}/reports", BotHeaders + Json);
            default:
                // A real cookie container, so the raw request can carry the admin session's cookies.
                var cookies = new CookieContainer();
                using (var admin = new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false }) { BaseAddress = _server.Address })
                {
                    Assert.Equal(HttpStatusCode.Redirect, (await admin.PostSignInAsync(AdminSession.Officer, AdminSession.OfficerPassword)).StatusCode);
                    var csrf = await admin.CsrfTokenAsync();
                    var cookie = cookies.GetCookieHeader(new Uri(_server.Address, "/admin/api/"));
                    return ($"/admin/api/holds/{Guid.NewGuid()}/release", $"Cookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\n{Json}");
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
