using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests;

/// <summary>
/// An error answer is problem+json whatever the client's <c>Accept</c> header asks for: a browser tab, an
/// <c>&lt;img&gt;</c> or a client asking only for XML gets the same answer as a JSON client, never a 500 or plain text.
/// </summary>
public sealed class AcceptHeaderTests : IClassFixture<AcceptHeaderTests.Service>
{
    private readonly Service _service;

    public AcceptHeaderTests(Service service) => _service = service;

    public static TheoryData<string, string> Cases
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var accept in new[] { "text/html", "application/xml", "image/png", "text/plain", "text/html, application/xhtml+xml" })
            {
                foreach (var failure in new[] { "unknown-path", "wrong-method", "no-api-key", "no-admin-session", "unreadable-query" })
                {
                    data.Add(accept, failure);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task An_error_is_problem_json_whatever_the_Accept_header_asks_for(string accept, string failure)
    {
        var logsBefore = _service.Factory.Logs.Entries.Count;
        var (client, method, path, status, type) = failure switch
        {
            "unknown-path" => (_service.Factory.CreateAnonymousClient(), HttpMethod.Get, "/v1/nothing-here", HttpStatusCode.NotFound, "not-found"),
            "wrong-method" => (_service.Factory.CreateBotClient(), HttpMethod.Put, "/v1/consents", HttpStatusCode.MethodNotAllowed, "method-not-allowed"),
            "no-api-key" => (_service.Factory.CreateAnonymousClient(), HttpMethod.Get, $"/v1/consents/{Guid.NewGuid()}", HttpStatusCode.Unauthorized, "unauthorized"),
            "no-admin-session" => (_service.Factory.CreateAnonymousClient(), HttpMethod.Get, "/admin/api/overview", HttpStatusCode.Unauthorized, "unauthorized"),
            _ => (await _service.Factory.SignInAsync(), HttpMethod.Get, "/admin/api/jobs?count=not-a-number", HttpStatusCode.BadRequest, "bad-request"),
        };

        var response = await client.SendAsync(Request(method, path, accept));

        var problem = await response.AssertProblemAsync(status, type);
        Assert.DoesNotContain("not-a-number", problem.Detail!, StringComparison.Ordinal);
        var logs = _service.Factory.Logs.Entries.Skip(logsBefore).ToList();
        Assert.DoesNotContain(logs, e => e.Level >= LogLevel.Error);

        // The same fields a JSON client gets (the trace id aside).
        var asJson = await client.SendAsync(Request(method, path, "application/json"));
        Assert.Equal(await WithoutTraceIdAsync(asJson), await WithoutTraceIdAsync(response));
    }

    private static HttpRequestMessage Request(HttpMethod method, string path, string accept)
    {
        var request = new HttpRequestMessage(method, path);
        Assert.True(request.Headers.TryAddWithoutValidation("Accept", accept));
        return request;
    }

    private static async Task<string> WithoutTraceIdAsync(HttpResponseMessage response)
    {
        var fields = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(await response.Content.ReadAsStringAsync())!;
        Assert.True(fields.Remove("traceId"));
        return string.Join('\n', fields.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => $"{f.Key}={f.Value.GetRawText()}"));
    }

    /// <summary>One service with a configured admin, shared by these tests.</summary>
    public sealed class Service : IDisposable
    {
        public SecureImageFactory Factory { get; } = new("Testing", AdminSession.OfficerSettings());

        public void Dispose() => Factory.Dispose();
    }
}
