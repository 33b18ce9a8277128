using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace SecureImage.Api.Tests.TestSupport;

/// <summary>One OTLP/HTTP export request as received: path, content type and the raw protobuf body.</summary>
public sealed record OtlpExport(string Path, string? ContentType, byte[] Body);

/// <summary>
/// A minimal OTLP/HTTP receiver on loopback: accepts POST /v1/traces, /v1/metrics and /v1/logs, keeps the
/// raw bodies and answers 200 with an empty protobuf response. Protobuf strings are plain UTF-8 on the
/// wire, so tests can look for span names, and for what must never be there, in the bytes.
/// </summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    private LoopbackHttp? _server;

    public Uri Endpoint => _server!.BaseAddress;

    public ConcurrentQueue<OtlpExport> Exports { get; } = new();

    public static async Task<OtlpReceiver> StartAsync()
    {
        var receiver = new OtlpReceiver();
        receiver._server = await LoopbackHttp.StartAsync(app =>
        {
            foreach (var signal in new[] { "traces", "metrics", "logs" })
            {
                app.MapPost("/v1/" + signal, receiver.ReceiveAsync);
            }
        });
        return receiver;
    }

    /// <summary>Bodies received on /v1/{signal}.</summary>
    public IReadOnlyList<OtlpExport> Of(string signal) => [.. Exports.Where(e => e.Path == "/v1/" + signal)];

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    private async Task ReceiveAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted);
        Exports.Enqueue(new OtlpExport(context.Request.Path, context.Request.ContentType, body.ToArray()));
        context.Response.ContentType = "application/x-protobuf";
    }
}
