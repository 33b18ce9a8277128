using System.Net;

namespace SecureImage.Api.Features.Health;

/// <summary>
/// <c>dotnet SecureImage.Api.dll healthcheck [--url URL] [--timeout-seconds N]</c>: asks a running instance's
/// readiness endpoint and exits 0 when it answers 200, 1 otherwise (not listening, 503, timeout). The
/// container image's HEALTHCHECK runs it, since the aspnet image has no curl. It starts no host, reads
/// no configuration and needs no keys.
/// </summary>
internal static class HealthCheckCommand
{
    public const string Name = "healthcheck";
    public static readonly Uri DefaultUrl = new("http://127.0.0.1:8080/health/ready");
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(3);

    public static async Task<int> RunAsync(IReadOnlyList<string> arguments, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (!TryParse(arguments, out var url, out var timeout, out var usage))
        {
            await error.WriteLineAsync(usage);
            return 2;
        }

        using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false, ConnectTimeout = timeout }) { Timeout = timeout };
        try
        {
            using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                await output.WriteLineAsync($"healthy: {url.AbsolutePath} answered 200");
                return 0;
            }

            await error.WriteLineAsync($"unhealthy: {url.AbsolutePath} answered {(int)response.StatusCode}");
            return 1;
        }
        catch (HttpRequestException ex)
        {
            await error.WriteLineAsync($"unhealthy: {url.GetLeftPart(UriPartial.Authority)} did not answer ({ex.HttpRequestError})");
            return 1;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync($"unhealthy: no answer within {timeout.TotalSeconds} s");
            return 1;
        }
    }

    private static bool TryParse(IReadOnlyList<string> arguments, out Uri url, out TimeSpan timeout, out string usage)
    {
        url = DefaultUrl;
        timeout = DefaultTimeout;
        usage = $"usage: {Name} [--url http://127.0.0.1:8080/health/ready] [--timeout-seconds 3]";
        for (var i = 0; i < arguments.Count; i += 2)
        {
            var value = i + 1 < arguments.Count ? arguments[i + 1] : null;
            switch (arguments[i])
            {
                case "--url" when Uri.TryCreate(value, UriKind.Absolute, out var parsed) && (parsed.Scheme == Uri.UriSchemeHttp || parsed.Scheme == Uri.UriSchemeHttps):
                    url = parsed;
                    break;
                case "--timeout-seconds" when int.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds is > 0 and <= 60:
                    timeout = TimeSpan.FromSeconds(seconds);
                    break;
                default:
                    return false;
            }
        }

        return true;
    }
}
