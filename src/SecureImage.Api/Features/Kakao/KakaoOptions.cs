using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace SecureImage.Api.Features.Kakao;

/// <summary>The configuration section <c>SecureImage:Kakao</c>, validated at start-up.</summary>
internal sealed class KakaoOptions
{
    public const string Section = "Kakao";
    public const string DefaultAllowedHost = "secure.kakaocdn.net";

    /// <summary>Redirects followed per fetch; each target is checked against the allow-list again.</summary>
    public const int MaxRedirects = 3;

    /// <summary>The Open Builder parameter the secure image plugin's result is bound to: looked at first; when absent, the result is found by its shape under any name.</summary>
    [Required]
    [RegularExpression("^[A-Za-z0-9_.-]{1,100}$")]
    public string PluginParameter { get; set; } = "secureimage";

    /// <summary>Host names images may be fetched from. Null or empty means <see cref="DefaultAllowedHost"/>.</summary>
    public string[]? AllowedHosts { get; set; }

    /// <summary>Lets allow-listed names resolve to loopback; Development and the test environment only.</summary>
    public bool AllowLoopback { get; set; }

    /// <summary>How long the skill waits for the images before answering (Kakao gives 5 seconds; the rest is margin).</summary>
    public TimeSpan ResponseBudget { get; set; } = TimeSpan.FromSeconds(4);

    /// <summary>Whole time for one fetch: connect, headers, body.</summary>
    public TimeSpan FetchTimeout { get; set; } = TimeSpan.FromSeconds(20);

    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>When after the request the callback is sent with what is known, if the images are not all settled by then (Kakao's callback URL lives about a minute).</summary>
    public TimeSpan CallbackWindow { get; set; } = TimeSpan.FromSeconds(45);

    /// <summary>How long a claimed fetch stays leased; a process that dies leaves it to others after this.</summary>
    public TimeSpan FetchLease { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often the fetch worker looks for due fetches when not signalled.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>URL lifetime assumed when a URL carries no <c>expires</c>.</summary>
    public TimeSpan DefaultUrlLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The latest a URL is tried after the request was received, whatever its <c>expires</c> claims
    /// (Kakao's URLs live about 10 minutes); at this point the fetch gives up and its URL is forgotten.
    /// </summary>
    public TimeSpan MaxUrlLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>The most <see cref="MaxUrlLifetime"/> may be: a capability URL kept for longer is a liability, not a feature.</summary>
    public static readonly TimeSpan MaxUrlLifetimeLimit = TimeSpan.FromHours(1);

    [Range(1, 64)]
    public int MaxConcurrentFetches { get; set; } = 4;

    /// <summary>
    /// Put a signed preview link of each stored image in the answer's <c>data</c> (<c>previewUrls</c>, in the order of
    /// <c>imageIds</c>), for a card's thumbnail. Off by default; needs Links:PublicBaseUrl (callback answers have no request).
    /// </summary>
    public bool PreviewLinks { get; set; }

    public IReadOnlyList<string> EffectiveAllowedHosts =>
        AllowedHosts?.Where(h => !string.IsNullOrWhiteSpace(h)).Select(h => h.Trim()).ToArray() is { Length: > 0 } hosts ? hosts : [DefaultAllowedHost];
}

internal sealed class ValidateKakaoOptions(IHostEnvironment environment) : IValidateOptions<KakaoOptions>
{
    /// <summary>The environment the test suite runs the service in.</summary>
    public const string TestingEnvironment = "Testing";

    public ValidateOptionsResult Validate(string? name, KakaoOptions options)
    {
        var errors = new List<string>();
        foreach (var (key, value) in new[]
        {
            (nameof(options.ResponseBudget), options.ResponseBudget),
            (nameof(options.FetchTimeout), options.FetchTimeout),
            (nameof(options.ConnectTimeout), options.ConnectTimeout),
            (nameof(options.CallbackWindow), options.CallbackWindow),
            (nameof(options.FetchLease), options.FetchLease),
            (nameof(options.PollInterval), options.PollInterval),
            (nameof(options.DefaultUrlLifetime), options.DefaultUrlLifetime),
            (nameof(options.MaxUrlLifetime), options.MaxUrlLifetime),
        })
        {
            if (value <= TimeSpan.Zero)
            {
                errors.Add($"SecureImage:Kakao:{key} must be positive.");
            }
        }

        if (options.ResponseBudget >= TimeSpan.FromSeconds(5))
        {
            errors.Add("SecureImage:Kakao:ResponseBudget must stay under Kakao's 5-second limit.");
        }

        if (options.CallbackWindow >= KakaoCallbacks.UrlLifetime)
        {
            errors.Add("SecureImage:Kakao:CallbackWindow must stay under the callback URL's one-minute life.");
        }

        if (options.MaxUrlLifetime > KakaoOptions.MaxUrlLifetimeLimit)
        {
            errors.Add($"SecureImage:Kakao:MaxUrlLifetime must be at most {KakaoOptions.MaxUrlLifetimeLimit:c}: Kakao's URLs live about 10 minutes.");
        }

        if (options.DefaultUrlLifetime > options.MaxUrlLifetime)
        {
            errors.Add("SecureImage:Kakao:DefaultUrlLifetime must not exceed MaxUrlLifetime.");
        }

        if (options.FetchLease <= options.FetchTimeout)
        {
            errors.Add("SecureImage:Kakao:FetchLease must be longer than FetchTimeout, or a slow fetch could be claimed twice.");
        }

        if (options.AllowLoopback && !environment.IsDevelopment() && !environment.IsEnvironment(TestingEnvironment))
        {
            errors.Add($"SecureImage:Kakao:AllowLoopback is allowed only in the Development and {TestingEnvironment} environments.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
