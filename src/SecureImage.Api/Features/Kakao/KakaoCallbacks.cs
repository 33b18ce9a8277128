using System.Collections.Concurrent;
using System.Net.Http.Json;
using Microsoft.Extensions.Options;
using SecureImage.Core.Kakao;

namespace SecureImage.Api.Features.Kakao;

/// <summary>
/// Sends the final SkillResponse to a request's callback URL exactly once: when every URL is settled,
/// or when <c>Kakao:CallbackWindow</c> since the request has passed (then with what is known so
/// far), or at shutdown. The callback URL works once, so a failed POST is not retried.
/// </summary>
internal sealed class KakaoCallbacks(KakaoHttp http, KakaoRequestTracker tracker, TimeProvider timeProvider, ILogger<KakaoCallbacks> logger) : IHostedService, IDisposable
{
    public const string TokenHeader = "x-kakao-callback-token";
    private static readonly TimeSpan PostTimeout = TimeSpan.FromSeconds(10);
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Guid, Task> _pending = new();

    /// <summary>An absolute http(s) URL without user info, or null (then the request is answered as if it offered no callback).</summary>
    public static Uri? ParseCallbackUrl(string? text) => KakaoFetchPolicy.ParseUrl(text) is { UserInfo.Length: 0 } url ? url : null;

    public void Schedule(Uri callbackUrl, string? token, Guid requestId, KakaoRequestTracker.Watcher watcher, TimeSpan window)
    {
        _pending[requestId] = Task.Run(() => SendWhenSettledAsync(callbackUrl, token, requestId, watcher, window), CancellationToken.None);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Send what is known now rather than let the callback URL lapse unanswered.
        try
        {
            await _stopping.CancelAsync();
        }
        catch (ObjectDisposedException)
        {
            // The container was disposed first (a host that failed to start): nothing is pending.
            return;
        }

        await Task.WhenAll(_pending.Values).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose() => _stopping.Dispose();

    private async Task SendWhenSettledAsync(Uri callbackUrl, string? token, Guid requestId, KakaoRequestTracker.Watcher watcher, TimeSpan window)
    {
        try
        {
            try
            {
                await watcher.WaitAsync(window, timeProvider, _stopping.Token);
            }
            catch (OperationCanceledException)
            {
                // Shutting down: answer with the state so far.
            }

            var response = KakaoReplies.Final(requestId, watcher.Snapshot());
            using var timeout = new CancellationTokenSource(PostTimeout);
            using var request = new HttpRequestMessage(HttpMethod.Post, callbackUrl) { Content = JsonContent.Create(response, options: KakaoJson.Options) };
            if (!string.IsNullOrEmpty(token))
            {
                request.Headers.TryAddWithoutValidation(TokenHeader, token);
            }

            using var answer = await http.Client.SendAsync(request, timeout.Token);
            KakaoLog.CallbackSent(logger, requestId, (int)answer.StatusCode);
        }
        catch (Exception ex)
        {
            KakaoLog.CallbackFailed(logger, requestId, ex.GetType().Name);
        }
        finally
        {
            tracker.Forget(requestId);
            _pending.TryRemove(requestId, out _);
        }
    }
}
