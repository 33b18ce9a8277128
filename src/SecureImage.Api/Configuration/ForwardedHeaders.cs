using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.HttpOverrides;
using IPNetwork = System.Net.IPNetwork;
using Microsoft.Extensions.Options;

namespace SecureImage.Api.Configuration;

/// <summary>
/// <c>SecureImage:ForwardedHeaders</c>: the proxies in front of the service that end TLS (Container Apps' ingress, a load
/// balancer) and whose <c>X-Forwarded-Proto</c> and <c>X-Forwarded-For</c> (and, if allowed, <c>X-Forwarded-Host</c>) are
/// believed. Nothing is trusted by default: the headers are then ignored, since from anyone else they are whatever the
/// client wrote. One hop only (ForwardLimit 1): the last entry of <c>X-Forwarded-For</c>, which the proxy itself appended.
/// </summary>
internal sealed class ForwardedHeadersSettings
{
    public const string Section = "ForwardedHeaders";

    /// <summary>Peer addresses of the proxies, e.g. <c>10.0.0.5</c>.</summary>
    public string[] KnownProxies { get; set; } = [];

    /// <summary>Networks the proxies connect from, in CIDR notation, e.g. <c>10.0.0.0/16</c>.</summary>
    public string[] KnownNetworks { get; set; } = [];

    /// <summary>
    /// Every peer is a trusted proxy: only for a service that nothing but its proxy can reach (Container Apps, whose
    /// ingress address is not known in advance). Excludes the two lists.
    /// </summary>
    public bool TrustAllProxies { get; set; }

    /// <summary>Also take the host from <c>X-Forwarded-Host</c>, for a proxy that rewrites the Host header; off, the Host header stands.</summary>
    public bool ForwardHost { get; set; }

    public bool TrustsAnyProxy => TrustAllProxies || KnownProxies.Length > 0 || KnownNetworks.Length > 0;

    /// <summary>A proxy address as an operator writes it: IPv6, or IPv4 in its usual dotted form (not <c>10.1</c>, <c>010.0.0.1</c> or a bare number, which the parser would also take).</summary>
    public static IPAddress? ParseProxy(string? text) =>
        IPAddress.TryParse(text?.Trim(), out var address)
        && (address.AddressFamily == AddressFamily.InterNetworkV6 || address.ToString() == text!.Trim())
            ? address
            : null;

    /// <summary>A network in CIDR notation whose host bits are zero, e.g. <c>10.0.0.0/16</c>; a bare address is no network.</summary>
    public static IPNetwork? ParseNetwork(string? text)
    {
        var trimmed = text?.Trim() ?? "";
        var slash = trimmed.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 || ParseProxy(trimmed[..slash]) is not { } baseAddress || !IPNetwork.TryParse(trimmed, out var network))
        {
            return null;
        }

        // 10.0.0.1/8 is more likely a slip than a way to write 10.0.0.0/8: refused rather than guessed.
        var bytes = baseAddress.GetAddressBytes();
        for (var bit = network.PrefixLength; bit < bytes.Length * 8; bit++)
        {
            if ((bytes[bit / 8] & (0x80 >> (bit % 8))) != 0)
            {
                return null;
            }
        }

        return network;
    }

    public ForwardedHeadersOptions ToOptions()
    {
        var options = new ForwardedHeadersOptions
        {
            ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | (ForwardHost ? ForwardedHeaders.XForwardedHost : ForwardedHeaders.None),
            ForwardLimit = 1,
        };

        // The library trusts loopback by default; here only what is configured is (and with both lists empty, every peer).
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();
        if (!TrustAllProxies)
        {
            foreach (var proxy in KnownProxies)
            {
                options.KnownProxies.Add(ParseProxy(proxy)!);
            }

            foreach (var network in KnownNetworks)
            {
                options.KnownIPNetworks.Add(ParseNetwork(network)!.Value);
            }
        }

        return options;
    }
}

internal sealed class ValidateForwardedHeadersSettings : IValidateOptions<ForwardedHeadersSettings>
{
    private const string Prefix = $"{SecureImageSections.Root}:{ForwardedHeadersSettings.Section}";

    public ValidateOptionsResult Validate(string? name, ForwardedHeadersSettings options)
    {
        // Each names the entry by its index, never its value (StartupRefusal's rule).
        var failures = new List<string>();
        for (var i = 0; i < options.KnownProxies.Length; i++)
        {
            if (ForwardedHeadersSettings.ParseProxy(options.KnownProxies[i]) is null)
            {
                failures.Add($"{Prefix}:KnownProxies:{i} must be an IP address (e.g. 192.0.2.10 or fd00::5).");
            }
        }

        for (var i = 0; i < options.KnownNetworks.Length; i++)
        {
            if (ForwardedHeadersSettings.ParseNetwork(options.KnownNetworks[i]) is null)
            {
                failures.Add($"{Prefix}:KnownNetworks:{i} must be a network in CIDR notation with its host bits zero (e.g. 172.16.0.0/12 or fd00::/64).");
            }
        }

        if (options.TrustAllProxies && (options.KnownProxies.Length > 0 || options.KnownNetworks.Length > 0))
        {
            failures.Add($"{Prefix}:TrustAllProxies trusts every peer: leave KnownProxies and KnownNetworks empty with it, or set it to false.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

internal static class ForwardedHeadersPipeline
{
    /// <summary>
    /// First in the pipeline, so everything after it (the admin cookie's Secure flag, the OIDC redirect_uri, sign-in
    /// throttling, link URLs without Links:PublicBaseUrl) sees the client's scheme and address. Without trusted proxies the
    /// middleware is not there at all.
    /// </summary>
    public static IApplicationBuilder UseTrustedForwardedHeaders(this IApplicationBuilder app)
    {
        var settings = app.ApplicationServices.GetRequiredService<IOptions<ForwardedHeadersSettings>>().Value;
        if (!settings.TrustsAnyProxy)
        {
            return app;
        }

        var options = settings.ToOptions();
        if (settings.TrustAllProxies)
        {
            return app.UseForwardedHeaders(options);
        }

        // The library believes the first hop of a connection without a peer address (a Unix socket): with a list, only a
        // peer on it is believed.
        return app.UseWhen(context => context.Connection.RemoteIpAddress is not null, branch => branch.UseForwardedHeaders(options));
    }
}
