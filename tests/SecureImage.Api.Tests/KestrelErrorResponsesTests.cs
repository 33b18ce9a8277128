using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests;

/// <summary>
/// Requests Kestrel itself refuses before any middleware runs (it answered them with an empty body) get the
/// service's problem+json, over a real Kestrel server and raw TCP; ordinary traffic on the same server is untouched.
/// </summary>
public sealed class KestrelErrorResponsesTests : IClassFixture<KestrelErrorResponsesTests.Server>
{
    private const string Marker = "secret-marker-5c1d";
    private readonly Server _server;

    public KestrelErrorResponsesTests(Server server) => _server = server;

    public static TheoryData<string, string, int, string> Refused => new()
    {
        { "a malformed request line", "HELLO\r\n\r\n", 400, "bad-request" },
        { "a method with a forbidden character", "G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad-request" },
        { "no Host header", "GET / HTTP/1.1\r\n\r\n", 400, "bad-request" },
        { "a malformed Host header", $"GET / HTTP/1.1\r\nHost: a b/<{Marker}>\r\n\r\n", 400, "bad-request" },
        { "two Host headers", $"GET / HTTP/1.1\r\nHost: a\r\nHost: {Marker}\r\n\r\n", 400, "bad-request" },
        { "a NUL in a header value", $"GET / HTTP/1.1\r\nHost: a\r\nX-A: {Marker}\0\r\n\r\n", 400, "bad-request" },
        { "a malformed Content-Length", $"POST /v1/consents HTTP/1.1\r\nHost: a\r\nContent-Length: {Marker}\r\n\r\n", 400, "bad-request" },
        { "a transfer coding other than chunked", "POST /v1/consents HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400, "bad-request" },
        { "an HTTP/1.0 POST without a length", "POST /v1/consents HTTP/1.0\r\n\r\n", 400, "bad-request" },
        { "a request target over 8 KiB", $"GET /{Marker}{new string('a', 9000)} HTTP/1.1\r\nHost: a\r\n\r\n", 414, "request-target-too-long" },
        { "a header over 32 KiB", $"GET / HTTP/1.1\r\nHost: a\r\nX-Big: {Marker}{new string('b', 40_000)}\r\n\r\n", 431, "request-headers-too-large" },
        { "more than 100 headers", "GET / HTTP/1.1\r\nHost: a\r\n" + string.Concat(Enumerable.Range(0, 200).Select(i => $"X-H{i}: {Marker}\r\n")) + "\r\n", 431, "request-headers-too-large" },
        { "an unknown HTTP version", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505, "http-version-not-supported" },
        { "an asterisk target on GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 405, "method-not-allowed" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task A_request_Kestrel_refuses_gets_a_problem_json_answer_that_echoes_nothing(string what, string request, int status, string type)
    {
        var response = Assert.Single(await RawHttp.SendAsync(_server.Address, RawHttp.Ascii(request)));

        AssertProblem(response, status, type, what);
        Assert.Equal("close", response.Header("Connection"));
        if (status == 405)
        {
            Assert.Equal("OPTIONS", response.Header("Allow"));
        }
    }

    [Fact]
    public async Task A_refused_request_after_a_good_one_on_the_same_connection_leaves_the_first_answer_untouched()
    {
        var request = $"GET /health/live HTTP/1.1\r\nHost: a\r\n\r\nGET /v1/nothing-here HTTP/1.1\r\nHost: a\r\n\r\nGET /{Marker}{new string('a', 9000)} HTTP/1.1\r\nHost: a\r\n\r\n";

        var responses = await RawHttp.SendAsync(_server.Address, RawHttp.Ascii(request));

        Assert.Equal(3, responses.Count);
        Assert.Equal(200, responses[0].Status);
        Assert.Equal("Healthy", JsonDocument.Parse(responses[0].Body).RootElement.GetProperty("status").GetString());
        AssertProblem(responses[1], 404, "not-found", "an unknown path");
        AssertProblem(responses[2], 414, "request-target-too-long", "a long target after two good requests");
    }

    [Fact]
    public async Task Request_headers_that_do_not_arrive_in_time_get_a_408_problem()
    {
        // RequestHeadersTimeout is 2 s on this server: send half a request and wait for the server to give up.
        var response = Assert.Single(await RawHttp.SendAsync(_server.Address, RawHttp.Ascii($"GET /{Marker} HTTP/1.1\r\nHost: a\r\n")));

        AssertProblem(response, 408, "request-timeout", "a stalled request");
    }

    [Theory]
    [InlineData("application/x-www-form-urlencoded", "password=")]
    [InlineData("multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n")]
    public async Task An_anonymous_sign_in_form_larger_than_a_sign_in_needs_is_refused_without_waiting_for_the_rest(string contentType, string field)
    {
        // Anyone may post the sign-in form: without a limit of its own the service read (and held) up to Kestrel's 30 MB.
        // Only the first 64 KiB of a declared 1 MiB are sent; an answer means the service stopped reading at its limit.
        var sent = field + Marker + new string('p', 64 * 1024);

        var response = Assert.Single(await RawHttp.SendAsync(_server.Address, RawHttp.Ascii(
            $"POST /admin/sign-in HTTP/1.1\r\nHost: a\r\nContent-Type: {contentType}\r\nContent-Length: {1024 * 1024}\r\n\r\n{sent}")));

        Assert.True(response.Status is 400 or 413, $"{response.Status} {response.BodyText}");
        AssertProblem(response, response.Status, response.Status == 413 ? "upload-too-large" : "bad-request", $"a large {contentType} sign-in form");
    }

    [Fact]
    public async Task Uploads_downloads_and_empty_answers_through_Kestrel_are_unchanged()
    {
        var client = _server.Factory.CreateBotClient();
        var original = Corpus.Read("jpg_gps_DSCN0010.jpg");
        var uploaded = await client.UploadOkAsync(await client.CreateConsentAsync(), original);

        var download = await _server.Factory.CreateAnonymousClient().GetAsync(new Uri(uploaded.Link.Url).PathAndQuery);
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal(await Corpus.SanitizedAsync(original), await download.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/images/{uploaded.Id}")).StatusCode);
        var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/health/live"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        await (await client.PostAsJsonAsync("/v1/consents", new { purpose = "p" })).AssertProblemAsync(HttpStatusCode.BadRequest, "bad-request");
        await (await _server.Factory.CreateAnonymousClient().GetAsync("/v1/images")).AssertProblemAsync(HttpStatusCode.MethodNotAllowed, "method-not-allowed");
        Assert.Empty(_server.Factory.Logs.AtLeast(LogLevel.Error));
    }

    private static void AssertProblem(RawResponse response, int status, string type, string what)
    {
        Assert.True(status == response.Status, $"{what}: {response.Status} {response.BodyText}");
        Assert.Equal("application/problem+json", response.Header("Content-Type"));
        var problem = JsonDocument.Parse(response.Body).RootElement;
        Assert.Equal(ApiClient.ProblemPrefix + type, problem.GetProperty("type").GetString());
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
        Assert.DoesNotContain(Marker, response.BodyText, StringComparison.Ordinal);
    }

    /// <summary>The service on Kestrel, with a short request-headers timeout so the 408 test does not wait 30 s.</summary>
    public sealed class Server : IDisposable
    {
        public Server()
        {
            Factory = SecureImageFactory.OnKestrel(new Dictionary<string, string?> { ["Kestrel:Limits:RequestHeadersTimeout"] = "00:00:02" });
            Address = Factory.ClientOptions.BaseAddress;
        }

        public SecureImageFactory Factory { get; }

        public Uri Address { get; }

        public void Dispose() => Factory.Dispose();
    }
}
