using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SecureImage.Api.Features.Kakao;

namespace SecureImage.Api.Tests.TestSupport;

/// <summary>A POST the fake callback receiver got.</summary>
public sealed record ReceivedCallback(string Path, string Body, IReadOnlyDictionary<string, string> Headers);

/// <summary>
/// Kakao's side on real loopback HTTP (Kestrel on 127.0.0.1, a free port): a CDN serving the corpus
/// with <c>expires</c> semantics, and a callback receiver. The CDN's behaviour per URL comes from
/// query parameters, so tests running at once do not disturb each other:
/// <c>delayMs</c>, <c>hold=&lt;gate&gt;</c> (answer only once the test calls <see cref="Release"/>), <c>fail=500|reset</c>, <c>failTimes</c> (fail only the first N requests of that URL),
/// <c>trickle=1</c> (one byte every 100 ms), <c>redirect=&lt;url&gt;</c>, <c>bytes=N</c> (a body of N bytes).
/// </summary>
public sealed class FakeKakao : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, int> _hits = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _gates = new();
    private int _connections;

    private FakeKakao(WebApplication app) => _app = app;

    /// <summary>The CDN's clock for <c>expires</c>; tests point it at the service's clock.</summary>
    public Func<DateTimeOffset> Now { get; set; } = () => DateTimeOffset.UtcNow;

    public int Port { get; private set; }

    public int Connections => Volatile.Read(ref _connections);

    public ConcurrentQueue<ReceivedCallback> Callbacks { get; } = new();

    public static async Task<FakeKakao> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        FakeKakao? self = null;
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.Use(next => connection =>
        {
            Interlocked.Increment(ref self!._connections);
            return next(connection);
        })));
        var app = builder.Build();
        self = new FakeKakao(app);
        app.MapGet("/dna/{name}", self.ServeAsync);
        app.MapPost("/callback/{id}", self.ReceiveCallbackAsync);
        await app.StartAsync();
        self.Port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
        return self;
    }

    /// <summary>A CDN URL for a corpus image under <paramref name="host"/> (resolved by the test's resolver).</summary>
    public string ImageUrl(string name, DateTimeOffset expires, string host = "cdn.test", string extra = "") =>
        $"http://{host}:{Port}/dna/{name}?credential=c1&expires={expires.ToUnixTimeSeconds()}&allow_ip=&allow_referer=&signature=s1%3D{extra}";

    /// <summary>Lets every request held at <paramref name="gate"/> (<c>hold=gate</c>) be answered, now and from now on.</summary>
    public void Release(string gate) => Gate(gate).TrySetResult();

    public string CallbackUrl(string id) => $"http://127.0.0.1:{Port}/callback/{id}";

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task ServeAsync(HttpContext context, string name)
    {
        var query = context.Request.Query;
        var hits = _hits.AddOrUpdate(context.Request.Path + context.Request.QueryString, 1, (_, n) => n + 1);
        if (!long.TryParse(query["expires"], out var expires) || Now() >= DateTimeOffset.FromUnixTimeSeconds(expires))
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }

        if (query["hold"] is { Count: 1 } gate)
        {
            await Gate(gate!).Task.WaitAsync(context.RequestAborted);
        }

        if (int.TryParse(query["delayMs"], out var delay))
        {
            await Task.Delay(delay, context.RequestAborted);
        }

        var failTimes = int.TryParse(query["failTimes"], out var n) ? n : int.MaxValue;
        if (query["fail"] == "500" && hits <= failTimes)
        {
            context.Response.StatusCode = 500;
            return;
        }

        if (query["fail"] == "reset" && hits <= failTimes)
        {
            context.Abort();
            return;
        }

        if (query["redirect"] is { Count: 1 } target)
        {
            context.Response.Redirect(target!);
            return;
        }

        var bytes = long.TryParse(query["bytes"], out var size) ? new byte[size] : Corpus.Read(name);
        context.Response.ContentType = "text/html"; // never trusted: the sanitizer decides
        if (query["trickle"] == "1")
        {
            foreach (var b in bytes)
            {
                await context.Response.Body.WriteAsync(new[] { b }, context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
                await Task.Delay(100, context.RequestAborted);
            }

            return;
        }

        await context.Response.Body.WriteAsync(bytes, context.RequestAborted);
    }

    private TaskCompletionSource Gate(string name) => _gates.GetOrAdd(name, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    private async Task<IResult> ReceiveCallbackAsync(HttpContext context, string id)
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        Callbacks.Enqueue(new ReceivedCallback(context.Request.Path, body, context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString())));
        return Results.Json(new { taskId = id, status = "SUCCESS", message = "", timestamp = 0 });
    }
}

/// <summary>Host names the test decides: <c>cdn.test</c> → 127.0.0.1 and whatever else a test maps.</summary>
internal sealed class MappedHostResolver : IKakaoHostResolver
{
    private readonly ConcurrentDictionary<string, IPAddress[]> _map = new(StringComparer.OrdinalIgnoreCase);

    public MappedHostResolver() => Map("cdn.test", IPAddress.Loopback);

    public MappedHostResolver Map(string host, params IPAddress[] addresses)
    {
        _map[host] = addresses;
        return this;
    }

    public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken) =>
        _map.TryGetValue(host, out var addresses) ? Task.FromResult(addresses) : throw new SocketErrorException(host);

    private sealed class SocketErrorException(string host) : System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.HostNotFound, $"{host} is not mapped in this test.");
}
