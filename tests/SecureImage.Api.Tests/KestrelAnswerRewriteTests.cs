using System.Text;
using System.Text.Json;
using SecureImage.Api.Problems;

namespace SecureImage.Api.Tests;

/// <summary>Which bytes count as Kestrel's empty error answer, and what replaces them (the rest pass through untouched).</summary>
public sealed class KestrelAnswerRewriteTests
{
    private const string Tail = "Date: Tue, 01 Dec 2026 19:52:16 GMT\r\nServer: Kestrel\r\n\r\n";

    [Theory]
    [InlineData("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n" + Tail, 400, "bad-request")]
    [InlineData("HTTP/1.1 414 URI Too Long\r\nContent-Length: 0\r\nConnection: close\r\n" + Tail, 414, "request-target-too-long")]
    [InlineData("HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n" + Tail, 431, "request-headers-too-large")]
    [InlineData("HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: Close\r\n" + Tail, 408, "request-timeout")]
    [InlineData("HTTP/1.1 505 HTTP Version Not Supported\r\nContent-Length: 0\r\nConnection: close\r\n" + Tail, 505, "http-version-not-supported")]
    [InlineData("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n" + Tail, 500, "internal-error")]
    [InlineData("HTTP/1.1 411 Length Required\r\nContent-Length: 0\r\nConnection: close\r\n" + Tail, 411, "http-411")]
    public void An_empty_error_answer_that_closes_the_connection_becomes_its_problem(string answer, int status, string type)
    {
        var rewritten = KestrelProblems.TryRewrite(Encoding.Latin1.GetBytes(answer));

        Assert.NotNull(rewritten);
        var text = Encoding.UTF8.GetString(rewritten);
        var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = text[..headEnd].Split("\r\n");
        var body = text[(headEnd + 4)..];
        Assert.Equal(answer[..answer.IndexOf("\r\n", StringComparison.Ordinal)], head[0]);
        Assert.Contains("Content-Type: application/problem+json", head);
        Assert.Contains($"Content-Length: {Encoding.UTF8.GetByteCount(body)}", head);
        Assert.Contains("Server: Kestrel", head);
        Assert.Single(head, h => h.StartsWith("Content-Length", StringComparison.OrdinalIgnoreCase));
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal("urn:secureimage:problem:" + type, problem.GetProperty("type").GetString());
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
    }

    [Fact]
    public void The_allow_header_of_a_405_is_kept()
    {
        var rewritten = KestrelProblems.TryRewrite(Encoding.Latin1.GetBytes("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\nAllow: OPTIONS\r\n" + Tail));

        Assert.Contains("\r\nAllow: OPTIONS\r\n", Encoding.UTF8.GetString(rewritten!), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n" + Tail)]
    [InlineData("HTTP/1.1 304 Not Modified\r\nConnection: close\r\n" + Tail)]
    [InlineData("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n" + Tail)]
    [InlineData("HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\nConnection: close\r\n" + Tail + "{}")]
    [InlineData("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n" + Tail + "HTTP/1.1 400 Bad Request\r\n")]
    [InlineData("HTTP/1.1 404 Not Found\r\nContent-Type: application/problem+json\r\nContent-Length: 0\r\nConnection: close\r\n" + Tail)]
    [InlineData("HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n" + Tail)]
    [InlineData("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n" + Tail)]
    [InlineData("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n")]
    [InlineData("HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n" + Tail)]
    [InlineData("HTTP/1.1 4x0 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n" + Tail)]
    [InlineData("HTTP/1.1 600 Odd\r\nContent-Length: 0\r\nConnection: close\r\n" + Tail)]
    [InlineData("0\r\n\r\n")]
    [InlineData("")]
    public void Anything_else_is_passed_on_as_it_is(string written)
    {
        Assert.Null(KestrelProblems.TryRewrite(Encoding.Latin1.GetBytes(written)));
    }

    [Fact]
    public void Http2_frames_are_never_taken_for_an_answer()
    {
        // A GOAWAY frame (HTTP_1_1_REQUIRED), as Kestrel sends to an HTTP/2 preface on a cleartext HTTP/1.1 endpoint.
        Assert.Null(KestrelProblems.TryRewrite([0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 13]));
    }
}
