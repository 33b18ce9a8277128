using System.Net;
using Microsoft.Extensions.Options;
using SecureImage.Api.Configuration;
using SecureImage.Api.Features.Kakao;
using SecureImage.Api.Tests.TestSupport;
using SecureImage.Core.Ingestion;
using SecureImage.Core.Kakao;

namespace SecureImage.Api.Tests.Kakao;

/// <summary>The fetcher's SSRF defences on real loopback HTTP. Every refusal happens before a socket is opened.</summary>
public sealed class KakaoFetcherSsrfTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Far = DateTimeOffset.UtcNow.AddHours(1);
    private FakeKakao _kakao = null!;

    public async Task InitializeAsync() => _kakao = await FakeKakao.StartAsync();

    public async Task DisposeAsync() => await _kakao.DisposeAsync();

    private static (KakaoImageFetcher Fetcher, KakaoHttp Http) Fetcher(MappedHostResolver resolver, bool allowLoopback = false, long maxBytes = 20L * 1024 * 1024, string? allowedHost = null, double timeoutSeconds = 5)
    {
        var options = Options.Create(new KakaoOptions
        {
            AllowLoopback = allowLoopback,
            AllowedHosts = ["cdn.test", "internal.test", allowedHost ?? "cdn.test"],
            FetchTimeout = TimeSpan.FromSeconds(timeoutSeconds),
        });
        var http = new KakaoHttp(resolver, options);
        return (new KakaoImageFetcher(http, options, Options.Create(new LimitsOptions { MaxUploadBytes = maxBytes })), http);
    }

    private static Task<int> CountBytesAsync(KakaoImageFetcher fetcher, string url) => fetcher.FetchAsync(url, async (body, ct) =>
    {
        var buffer = new byte[8192];
        var total = 0;
        int read;
        while ((read = await body.ReadAsync(buffer, ct)) > 0)
        {
            total += read;
        }

        return total;
    }, CancellationToken.None);

    [Fact]
    public async Task An_allow_listed_host_on_loopback_is_fetched_when_loopback_is_allowed()
    {
        var (fetcher, _) = Fetcher(new MappedHostResolver(), allowLoopback: true);

        Assert.Equal(Corpus.Read("jpg_Canon_40D.jpg").Length, await CountBytesAsync(fetcher, _kakao.ImageUrl("jpg_Canon_40D.jpg", Far)));
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("10.0.0.1")]
    [InlineData("169.254.169.254")]
    [InlineData("::1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("100.64.0.1")]
    [InlineData("fe80::1")]
    public async Task An_allow_listed_name_resolving_to_a_non_public_address_is_refused_without_connecting(string address)
    {
        var (fetcher, http) = Fetcher(new MappedHostResolver().Map("cdn.test", IPAddress.Parse(address)));

        var refused = await Assert.ThrowsAsync<KakaoFetchRefusedException>(() => CountBytesAsync(fetcher, _kakao.ImageUrl("jpg_Canon_40D.jpg", Far)));

        Assert.Equal(KakaoFetchErrors.BlockedAddress, refused.Code);
        Assert.Equal(0, http.ConnectAttempts);
        Assert.Equal(0, _kakao.Connections);
    }

    [Theory]
    [InlineData("http://evil.test:{port}/dna/jpg_Canon_40D.jpg")]
    [InlineData("http://127.0.0.1:{port}/dna/jpg_Canon_40D.jpg")]
    [InlineData("http://[::1]:{port}/dna/jpg_Canon_40D.jpg")]
    [InlineData("http://cdn.test@evil.test:{port}/dna/jpg_Canon_40D.jpg")]
    [InlineData("http://user:pw@cdn.test:{port}/dna/jpg_Canon_40D.jpg")]
    [InlineData("ftp://cdn.test:{port}/dna/jpg_Canon_40D.jpg")]
    [InlineData("file:///etc/passwd")]
    [InlineData("not a url")]
    public async Task A_url_off_the_allow_list_or_with_user_info_or_another_scheme_is_refused_without_connecting(string template)
    {
        var (fetcher, http) = Fetcher(new MappedHostResolver().Map("evil.test", IPAddress.Loopback), allowLoopback: true);

        var refused = await Assert.ThrowsAsync<KakaoFetchRefusedException>(() => CountBytesAsync(fetcher, template.Replace("{port}", _kakao.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)));

        Assert.Equal(KakaoFetchErrors.RefusedUrl, refused.Code);
        Assert.Equal(0, http.ConnectAttempts);
        Assert.Equal(0, _kakao.Connections);
    }

    [Theory]
    [InlineData("http://10.0.0.1/latest/meta-data/", KakaoFetchErrors.RefusedRedirect)]
    [InlineData("http://private.test/x", KakaoFetchErrors.RefusedRedirect)]
    [InlineData("http://internal.test/x", KakaoFetchErrors.BlockedAddress)]
    public async Task A_redirect_from_an_allowed_host_to_a_private_one_is_refused(string target, string code)
    {
        var resolver = new MappedHostResolver().Map("private.test", IPAddress.Parse("10.0.0.1")).Map("internal.test", IPAddress.Parse("169.254.169.254"));
        var (fetcher, http) = Fetcher(resolver, allowLoopback: true);

        var refused = await Assert.ThrowsAsync<KakaoFetchRefusedException>(() => CountBytesAsync(fetcher, _kakao.ImageUrl("jpg_Canon_40D.jpg", Far, extra: "&redirect=" + Uri.EscapeDataString(target))));

        Assert.Equal(code, refused.Code);
        Assert.Equal(1, http.ConnectAttempts); // the allowed CDN only
    }

    [Fact]
    public async Task Redirects_within_the_allow_list_are_followed_at_most_three_times()
    {
        var (fetcher, _) = Fetcher(new MappedHostResolver(), allowLoopback: true);
        var final = _kakao.ImageUrl("jpg_Canon_40D.jpg", Far);
        var three = final;
        for (var i = 0; i < 3; i++)
        {
            three = _kakao.ImageUrl("jpg_Canon_40D.jpg", Far, extra: "&redirect=" + Uri.EscapeDataString(three));
        }

        var four = _kakao.ImageUrl("jpg_Canon_40D.jpg", Far, extra: "&redirect=" + Uri.EscapeDataString(three));

        Assert.True(await CountBytesAsync(fetcher, three) > 0);
        var refused = await Assert.ThrowsAsync<KakaoFetchRefusedException>(() => CountBytesAsync(fetcher, four));
        Assert.Equal(KakaoFetchErrors.RefusedRedirect, refused.Code);
    }

    [Fact]
    public async Task A_body_over_the_byte_limit_is_refused_while_reading()
    {
        var (fetcher, _) = Fetcher(new MappedHostResolver(), allowLoopback: true, maxBytes: 64 * 1024);

        await Assert.ThrowsAsync<UploadTooLargeException>(() => CountBytesAsync(fetcher, _kakao.ImageUrl("x", Far, extra: "&bytes=200000")));
    }

    [Fact]
    public async Task A_server_trickling_bytes_past_the_time_limit_is_cut_off()
    {
        var (fetcher, _) = Fetcher(new MappedHostResolver(), allowLoopback: true, timeoutSeconds: 1);
        var started = DateTime.UtcNow;

        await Assert.ThrowsAsync<TimeoutException>(() => CountBytesAsync(fetcher, _kakao.ImageUrl("jpg_Canon_40D.jpg", Far, extra: "&trickle=1")));

        Assert.InRange(DateTime.UtcNow - started, TimeSpan.Zero, TimeSpan.FromSeconds(4));
    }

    [Fact]
    public async Task A_cdn_error_status_is_reported_with_its_status()
    {
        var (fetcher, _) = Fetcher(new MappedHostResolver(), allowLoopback: true);

        var error = await Assert.ThrowsAsync<KakaoFetchStatusException>(() => CountBytesAsync(fetcher, _kakao.ImageUrl("jpg_Canon_40D.jpg", Far, extra: "&fail=500")));
        Assert.Equal(500, error.Status);
        var expired = await Assert.ThrowsAsync<KakaoFetchStatusException>(() => CountBytesAsync(fetcher, _kakao.ImageUrl("jpg_Canon_40D.jpg", DateTimeOffset.UtcNow.AddMinutes(-1))));
        Assert.Equal(403, expired.Status);
    }
}
