using System.Net;
using System.Net.Sockets;

namespace SecureImage.Core.Kakao;

/// <summary>Stable codes for why a Kakao image was not stored. Logged, recorded in the queue and audit; never personal data.</summary>
public static class KakaoFetchErrors
{
    /// <summary>The URL's <c>expires</c> passed before the image could be fetched.</summary>
    public const string Expired = "expired";

    /// <summary>Not an http(s) URL on an allow-listed host, or it carried user info.</summary>
    public const string RefusedUrl = "refused-url";

    /// <summary>The host resolved only to addresses the service never connects to (private, loopback, metadata…).</summary>
    public const string BlockedAddress = "blocked-address";

    /// <summary>A redirect left the allow-list, or there were too many.</summary>
    public const string RefusedRedirect = "refused-redirect";

    /// <summary>More URLs than one request may carry.</summary>
    public const string TooMany = "too-many";

    /// <summary>The CDN refused the URL (4xx): expired or not valid.</summary>
    public const string UrlRejected = "url-rejected";

    /// <summary>Network failure or a 5xx; retried until the URL expires.</summary>
    public const string FetchFailed = "fetch-failed";

    /// <summary>The fetch took longer than <c>Kakao:FetchTimeout</c>; retried until the URL expires.</summary>
    public const string Timeout = "timeout";

    /// <summary>The catalog, blob store or key provider failed; retried until the URL expires.</summary>
    public const string StorageUnavailable = "storage-unavailable";

    public const string TooLarge = "too-large";
    public const string BadType = "bad-type";
    public const string Malformed = "malformed";

    /// <summary>The consent was withdrawn before the image was committed.</summary>
    public const string NoConsent = "no-consent";
}

/// <summary>Which URLs and addresses the Kakao fetcher may use. Pure rules, checked before and at connect time.</summary>
public static class KakaoFetchPolicy
{
    /// <summary>Longer than any URL Kakao sends (about 200 characters), short enough that no URL is a storage or log burden.</summary>
    public const int MaxUrlLength = 2048;

    /// <summary>
    /// An absolute http(s) URL from payload text, or null: another scheme (a bare path is a file URL on Unix), over <see cref="MaxUrlLength"/>, or holding a control
    /// character (NUL, CR, LF…) or whitespace, which no CDN or callback URL has and <see cref="Uri"/> would
    /// otherwise strip or escape into something the sender did not write.
    /// </summary>
    public static Uri? ParseUrl(string? text)
    {
        if (string.IsNullOrEmpty(text) || text.Length > MaxUrlLength || text.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
        {
            return null;
        }

        return Uri.TryCreate(text, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps) ? url : null;
    }

    /// <summary>
    /// When the service stops trying <paramref name="url"/>: its <c>expires</c> (or <paramref name="defaultLifetime"/>
    /// after receipt when it has none), but never later than <paramref name="maxLifetime"/> after receipt, so
    /// a URL claiming year 9999 is not retried (and its credential kept) for ever.
    /// </summary>
    public static DateTimeOffset Deadline(Uri url, DateTimeOffset receivedAt, TimeSpan defaultLifetime, TimeSpan maxLifetime)
    {
        ArgumentNullException.ThrowIfNull(url);
        var claimed = KakaoSkillPayload.ExpiresAt(url) ?? receivedAt + defaultLifetime;
        var cap = receivedAt + maxLifetime;
        return claimed < cap ? claimed : cap;
    }

    /// <summary>Null when <paramref name="url"/> may be fetched; otherwise the refusal code.</summary>
    public static string? CheckUrl(Uri? url, IReadOnlyCollection<string> allowedHosts)
    {
        ArgumentNullException.ThrowIfNull(allowedHosts);
        if (url is null || !url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)
            || url.UserInfo.Length > 0 || url.HostNameType is not UriHostNameType.Dns)
        {
            // An IP literal is never on the allow-list: host names only, so the address check sees every connection.
            return KakaoFetchErrors.RefusedUrl;
        }

        var host = url.IdnHost.TrimEnd('.');
        return allowedHosts.Any(h => string.Equals(h.TrimEnd('.'), host, StringComparison.OrdinalIgnoreCase)) ? null : KakaoFetchErrors.RefusedUrl;
    }

    /// <summary>
    /// True when the service may open a connection to <paramref name="address"/>: a public unicast
    /// address, or loopback when <paramref name="allowLoopback"/> (tests only). IPv4-mapped and
    /// IPv4-compatible IPv6 forms are judged as the IPv4 address they carry.
    /// </summary>
    public static bool IsAllowedAddress(IPAddress address, bool allowLoopback)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            if (address.IsIPv4MappedToIPv6)
            {
                return IsAllowedAddress(address.MapToIPv4(), allowLoopback);
            }

            var bytes = address.GetAddressBytes();

            // ::a.b.c.d (IPv4-compatible, deprecated but still routed by some stacks); :: and ::1 are judged below.
            if (bytes.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0 && !address.Equals(IPAddress.IPv6Loopback) && !address.Equals(IPAddress.IPv6None))
            {
                return IsAllowedAddress(new IPAddress(bytes.AsSpan(12, 4)), allowLoopback);
            }

            if (IPAddress.IsLoopback(address))
            {
                return allowLoopback;
            }

            return !(address.Equals(IPAddress.IPv6None) // ::
                || address.IsIPv6LinkLocal // fe80::/10
                || address.IsIPv6SiteLocal // fec0::/10 (deprecated)
                || address.IsIPv6Multicast // ff00::/8
                || (bytes[0] & 0xFE) == 0xFC // fc00::/7 unique local
                || (bytes[0] == 0x20 && bytes[1] == 0x02) // 6to4 can carry any IPv4 address, private ones included
                || (bytes[0] == 0x00 && bytes[1] == 0x64 && bytes[2] == 0xFF && bytes[3] == 0x9B) // 64:ff9b::/96 NAT64 likewise
                || (bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0D && bytes[3] == 0xB8)); // documentation
        }

        if (address.AddressFamily != AddressFamily.InterNetwork)
        {
            return false;
        }

        var b = address.GetAddressBytes();
        if (b[0] == 127)
        {
            return allowLoopback;
        }

        return !(b[0] == 0 // "this network", 0.0.0.0 included
            || b[0] == 10
            || (b[0] == 100 && (b[1] & 0xC0) == 64) // 100.64/10 carrier-grade NAT
            || (b[0] == 169 && b[1] == 254) // link-local, cloud metadata 169.254.169.254
            || (b[0] == 172 && (b[1] & 0xF0) == 16)
            || (b[0] == 192 && b[1] == 168)
            || (b[0] == 192 && b[1] == 0 && b[2] == 0) // IETF protocol assignments
            || (b[0] == 192 && b[1] == 0 && b[2] == 2) // documentation
            || (b[0] == 198 && (b[1] & 0xFE) == 18) // benchmarking
            || (b[0] == 198 && b[1] == 51 && b[2] == 100)
            || (b[0] == 203 && b[1] == 0 && b[2] == 113)
            || b[0] >= 224); // multicast, reserved, broadcast
    }
}
