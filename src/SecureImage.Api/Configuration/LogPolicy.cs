using SecureImage.Api.Security;

namespace SecureImage.Api.Configuration;

/// <summary>
/// Log rules that no configuration can loosen.
/// <list type="bullet">
/// <item>ASP.NET Core's and HttpClient's own categories write request and outgoing URLs with their query (a
/// download link's signature, a Kakao CDN URL's credentials), request targets, headers and bound parameter
/// values at Trace to Information: they pass only at Warning and above. HTTP logging categories never pass.</item>
/// <item>While the host starts after <see cref="StartupRefusal.PrepareAsync"/>, the host's "Hosting failed to
/// start" error (with its stack trace) is dropped: Program reports that failure itself, once.</item>
/// </list>
/// Enforced in <see cref="Apply"/>, a post-configuration of <see cref="LoggerFilterOptions"/>: it runs after
/// every rule from appsettings, the environment or code has been added (and again whenever configuration
/// reloads) and wraps the filter of every rule, so whichever rule the logger factory picks for a provider and
/// category, provider-specific or not, carries these rules; a catch-all rule leaves no category without one.
/// </summary>
internal static class LogPolicy
{
    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    /// <summary>Prefixes (ordinal) of categories held at Warning and above.</summary>
    private static readonly string[] WarningAndAbove =
    [
        "Microsoft.AspNetCore",
        "System.Net.Http",
        "Microsoft.Extensions.Http",

        // The authentication base class logs under the handler's type: one "was challenged" per 401.
        typeof(ApiKeyAuthenticationHandler).FullName!,
    ];

    /// <summary>Prefixes of categories that never pass: their whole purpose is to log requests.</summary>
    private static readonly string[] Never =
    [
        "Microsoft.AspNetCore.HttpLogging",
        "Microsoft.AspNetCore.W3CLogging",
    ];

    public static ILoggingBuilder AddLogPolicy(this ILoggingBuilder logging)
    {
        logging.Services.PostConfigure<LoggerFilterOptions>(Apply);
        return logging;
    }

    public static void Apply(LoggerFilterOptions options)
    {
        var rules = options.Rules;
        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            rules[i] = new LoggerFilterRule(rule.ProviderName, rule.CategoryName, rule.LogLevel, Wrap(rule.Filter));
        }

        // Without a rule that matches every category, the factory would use MinLevel and no filter at all.
        if (!rules.Any(r => r.ProviderName is null && r.CategoryName is null))
        {
            rules.Add(new LoggerFilterRule(null, null, options.MinLevel, Wrap(null)));
        }
    }

    /// <summary>Whether a log entry of this category and level may reach any provider.</summary>
    public static bool Allows(string? category, LogLevel level)
    {
        if (category is null)
        {
            return true;
        }

        if (Never.Any(prefix => category.StartsWith(prefix, StringComparison.Ordinal)))
        {
            return false;
        }

        if (level == LogLevel.Error && StartupRefusal.HostStarting && category == HostCategory)
        {
            return false;
        }

        return level >= LogLevel.Warning || !WarningAndAbove.Any(prefix => category.StartsWith(prefix, StringComparison.Ordinal));
    }

    private static Func<string?, string?, LogLevel, bool> Wrap(Func<string?, string?, LogLevel, bool>? inner) =>
        (provider, category, level) => Allows(category, level) && (inner?.Invoke(provider, category, level) ?? true);
}
