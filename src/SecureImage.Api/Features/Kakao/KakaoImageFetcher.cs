using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using SecureImage.Api.Configuration;
using SecureImage.Core.Ingestion;
using SecureImage.Core.Kakao;

namespace SecureImage.Api.Features.Kakao;

/// <summary>Resolves host names for the Kakao fetcher; a seam so tests can point names at chosen addresses.</summary>
internal interface IKakaoHostResolver
{
    Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken);
}

internal sealed class DnsKakaoHostResolver : IKakaoHostResolver
{
    public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken) => Dns.GetHostAddressesAsync(host, cancellationToken);
}

/// <summary>The fetch was refused by policy (<see cref="KakaoFetchErrors"/> code); retrying cannot help.</summary>
internal sealed class KakaoFetchRefusedException(string code) : Exception($"Fetch refused: {code}.")
{
    public string Code { get; } = code;
}

/// <summary>The CDN answered with a non-success status.</summary>
internal sealed class KakaoFetchStatusException(int status) : Exception($"The CDN answered {status}.")
{
    public int Status { get; } = status;
}

/// <summary>
/// The HTTP stack every Kakao-related outbound call uses. The connect callback resolves the host
/// itself and connects only to the addresses it checked, so neither DNS rebinding nor a proxy can
/// steer a connection to loopback, private, link-local, CGNAT, multicast or metadata addresses.
/// </summary>
internal sealed class KakaoHttp : IDisposable
{
    private readonly IKakaoHostResolver _resolver;
    private readonly bool _allowLoopback;
    private int _connectAttempts;

    public KakaoHttp(IKakaoHostResolver resolver, IOptions<KakaoOptions> options)
    {
        _resolver = resolver;
        _allowLoopback = options.Value.AllowLoopback;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = options.Value.ConnectTimeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
            MaxResponseHeadersLength = 64,
            ConnectCallback = ConnectAsync,

            // No traceparent/baggage headers to the CDN or callback hosts: trace ids stay inside.
            ActivityHeadersPropagator = System.Diagnostics.DistributedContextPropagator.CreateNoOutputPropagator(),
        };

        // Bounded per call with cancellation tokens instead, so a timeout is told apart from a shutdown.
        Client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public HttpClient Client { get; }

    /// <summary>Sockets actually opened (tests prove a refusal happened before any connection).</summary>
    public int ConnectAttempts => Volatile.Read(ref _connectAttempts);

    public void Dispose() => Client.Dispose();

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var endPoint = context.DnsEndPoint;
        var addresses = IPAddress.TryParse(endPoint.Host.Trim('[', ']'), out var literal)
            ? [literal]
            : await _resolver.ResolveAsync(endPoint.Host, cancellationToken);
        var allowed = addresses.Where(a => KakaoFetchPolicy.IsAllowedAddress(a, _allowLoopback)).ToArray();
        if (allowed.Length == 0)
        {
            throw new KakaoFetchRefusedException(KakaoFetchErrors.BlockedAddress);
        }

        SocketException? last = null;
        foreach (var address in allowed)
        {
            Interlocked.Increment(ref _connectAttempts);
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, endPoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                last = ex;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw last!;
    }
}

/// <summary>
/// Fetches one image URL under the Kakao rules: allow-listed host names, http(s) only, no user info,
/// redirects followed by hand (each target re-checked), the whole fetch bounded in time and the body
/// in bytes while it is read. The response's content type is ignored: the sanitizer decides.
/// </summary>
internal sealed class KakaoImageFetcher(KakaoHttp http, IOptions<KakaoOptions> options, IOptions<LimitsOptions> limits)
{
    /// <summary>Runs <paramref name="consume"/> on the size-limited body, inside the fetch's time limit.</summary>
    /// <exception cref="KakaoFetchRefusedException">Refused by policy.</exception>
    /// <exception cref="KakaoFetchStatusException">The CDN answered a non-success status.</exception>
    /// <exception cref="TimeoutException">The fetch (body included) took longer than <c>Kakao:FetchTimeout</c>.</exception>
    /// <exception cref="UploadTooLargeException">The body is over <c>Limits:MaxUploadBytes</c>.</exception>
    public async Task<T> FetchAsync<T>(string url, Func<Stream, CancellationToken, Task<T>> consume, CancellationToken cancellationToken)
    {
        var maxBytes = limits.Value.MaxUploadBytes;
        var allowedHosts = options.Value.EffectiveAllowedHosts;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.FetchTimeout);
        try
        {
            var target = Uri.TryCreate(url, UriKind.Absolute, out var parsed) ? parsed : null;
            for (var redirects = 0; ; redirects++)
            {
                if (KakaoFetchPolicy.CheckUrl(target, allowedHosts) is { } refused)
                {
                    throw new KakaoFetchRefusedException(redirects == 0 ? refused : KakaoFetchErrors.RefusedRedirect);
                }

                using var request = new HttpRequestMessage(HttpMethod.Get, target);
                using var response = await http.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                if (response.StatusCode is HttpStatusCode.MovedPermanently or HttpStatusCode.Found or HttpStatusCode.SeeOther
                    or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect)
                {
                    if (redirects >= KakaoOptions.MaxRedirects || response.Headers.Location is not { } location)
                    {
                        throw new KakaoFetchRefusedException(KakaoFetchErrors.RefusedRedirect);
                    }

                    target = location.IsAbsoluteUri ? location : new Uri(target!, location);
                    continue;
                }

                if (!response.IsSuccessStatusCode)
                {
                    throw new KakaoFetchStatusException((int)response.StatusCode);
                }

                if (response.Content.Headers.ContentLength > maxBytes)
                {
                    throw new UploadTooLargeException(maxBytes);
                }

                await using var body = await response.Content.ReadAsStreamAsync(timeout.Token);
                return await consume(new MaxLengthReadStream(body, maxBytes), timeout.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException("The fetch took longer than its time limit.");
        }
        catch (HttpRequestException ex) when (FindRefusal(ex) is { } refusal)
        {
            throw refusal;
        }
    }

    private static KakaoFetchRefusedException? FindRefusal(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is KakaoFetchRefusedException refused)
            {
                return refused;
            }
        }

        return null;
    }
}
