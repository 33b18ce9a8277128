using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using SecureImage.Api.Problems;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests;

/// <summary>
/// Every endpoint that reads a JSON body (consents, reports, hold release) answers a charset it cannot decode
/// with 415, and neither the answer nor the log repeats what the client sent.
/// </summary>
public sealed class JsonCharsetTests : IClassFixture<JsonCharsetTests.Service>
{
    private const string Marker = "x-charset-marker-7f3a";
    private readonly Service _service;

    public JsonCharsetTests(Service service) => _service = service;

    public static TheoryData<string, string> EndpointsAndCharsets
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var endpoint in new[] { "consents", "reports", "release" })
            {
                foreach (var charset in new[] { Marker, $"\"{Marker}\"", $"{Marker}; charset=utf-8", "", "\"\"", "utf-9", "utf-8x", "bogus" + new string('x', 300) })
                {
                    data.Add(endpoint, charset);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(EndpointsAndCharsets))]
    public async Task A_json_body_in_an_unknown_charset_answers_415_without_echoing_the_charset(string endpoint, string charset)
    {
        var logsBefore = _service.Factory.Logs.Entries.Count;
        var request = await RequestAsync(endpoint, "{\"subjectId\":\"u\",\"purpose\":\"p\",\"policyVersion\":\"v\",\"reason\":\"privacy\"}"u8.ToArray(), $"application/json; charset={charset}");

        var response = await request.Client.SendAsync(request.Message);

        var problem = await response.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
        Assert.DoesNotContain("marker", problem.Detail!, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("bogus", problem.Detail!, StringComparison.OrdinalIgnoreCase);
        var logs = _service.Factory.Logs.Entries.Skip(logsBefore).ToList();
        Assert.DoesNotContain(logs, e => e.Level >= LogLevel.Error);
        Assert.DoesNotContain(logs, e => e.ToString().Contains("marker", StringComparison.OrdinalIgnoreCase) || e.ToString().Contains("bogus", StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [InlineData("consents", "utf-8")]
    [InlineData("consents", "\"UTF-8\"")]
    [InlineData("consents", "utf-16")]
    [InlineData("consents", "iso-8859-1")]
    [InlineData("reports", "utf-16")]
    [InlineData("release", "utf-16")]
    public async Task A_json_body_in_a_charset_the_service_knows_is_read(string endpoint, string charset)
    {
        var encoding = Encoding.GetEncoding(charset.Trim('"'));
        var body = encoding.GetBytes("{\"subjectId\":\"u\",\"purpose\":\"p\",\"policyVersion\":\"v\",\"reason\":\"reviewed\"}");
        var request = await RequestAsync(endpoint, body, $"application/json; charset={charset}");

        var response = await request.Client.SendAsync(request.Message);

        // The release of an image that is not held is a 404: the body was read and understood.
        var expected = endpoint switch { "consents" => HttpStatusCode.Created, "reports" => HttpStatusCode.Accepted, _ => HttpStatusCode.NotFound };
        Assert.True(expected == response.StatusCode, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    [Theory]
    [InlineData("consents")]
    [InlineData("reports")]
    public async Task A_json_body_larger_than_any_request_needs_answers_413_without_reading_it_all(string endpoint)
    {
        // Valid JSON padded with 1 MiB of spaces: a bot's key buys no more memory than a request needs.
        var body = Encoding.UTF8.GetBytes("{\"subjectId\":\"u\",\"purpose\":\"p\",\"policyVersion\":\"v\",\"reason\":\"privacy\"" + new string(' ', 1024 * 1024) + "}");
        var request = await RequestAsync(endpoint, body, "application/json");

        var response = await request.Client.SendAsync(request.Message);

        await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "upload-too-large");
    }

    [Theory]
    [InlineData("consents")]
    [InlineData("reports")]
    public async Task A_json_body_at_the_limit_is_still_read(string endpoint)
    {
        var json = "{\"subjectId\":\"u\",\"purpose\":\"p\",\"policyVersion\":\"v\",\"reason\":\"privacy\"";
        var body = Encoding.UTF8.GetBytes(json + new string(' ', JsonRequestBody.MaxBodyBytes - json.Length - 1) + "}");
        var request = await RequestAsync(endpoint, body, "application/json");

        var response = await request.Client.SendAsync(request.Message);

        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    private async Task<(HttpClient Client, HttpRequestMessage Message)> RequestAsync(string endpoint, byte[] body, string contentType)
    {
        var content = new ByteArrayContent(body);
        Assert.True(content.Headers.TryAddWithoutValidation("Content-Type", contentType));
        switch (endpoint)
        {
            case "consents":
                return (_service.Factory.CreateBotClient(), new HttpRequestMessage(HttpMethod.Post, "/v1/consents") { Content = content });
            case "reports":
                var bot = _service.Factory.CreateBotClient();
                var uploaded = await bot.UploadOkAsync(await bot.CreateConsentAsync(), Corpus.Read("jpg_Canon_40D.jpg"));
                return (bot, new HttpRequestMessage(HttpMethod.Post, $"/v1/images/{uploaded.Id}/reports") { Content = content });
            default:
                var admin = await _service.Factory.SignInAsync();
                var message = new HttpRequestMessage(HttpMethod.Post, $"/admin/api/holds/{Guid.NewGuid()}/release") { Content = content };
                message.Headers.Add("X-CSRF-Token", await admin.CsrfTokenAsync());
                return (admin, message);
        }
    }

    /// <summary>One service with a configured admin, shared by these tests.</summary>
    public sealed class Service : IDisposable
    {
        public SecureImageFactory Factory { get; } = new("Testing", AdminSession.OfficerSettings());

        public void Dispose() => Factory.Dispose();
    }
}
