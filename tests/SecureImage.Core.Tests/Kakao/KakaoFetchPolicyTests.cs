using System.Net;
using SecureImage.Core.Kakao;

namespace SecureImage.Core.Tests.Kakao;

public sealed class KakaoFetchPolicyTests
{
    private static readonly string[] Allowed = ["secure.kakaocdn.net"];

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.1.2.3")]
    [InlineData("10.0.0.1")]
    [InlineData("172.16.0.1")]
    [InlineData("172.31.255.255")]
    [InlineData("192.168.1.1")]
    [InlineData("169.254.169.254")]
    [InlineData("100.64.0.1")]
    [InlineData("100.127.255.255")]
    [InlineData("0.0.0.0")]
    [InlineData("224.0.0.1")]
    [InlineData("255.255.255.255")]
    [InlineData("::1")]
    [InlineData("::")]
    [InlineData("fe80::1")]
    [InlineData("fc00::1")]
    [InlineData("fd12:3456::1")]
    [InlineData("ff02::1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("::ffff:10.0.0.1")]
    [InlineData("::ffff:169.254.169.254")]
    [InlineData("::127.0.0.1")]
    [InlineData("::10.0.0.1")]
    [InlineData("2002:0a00:0001::1")]
    [InlineData("64:ff9b::a9fe:a9fe")]
    public void Non_public_addresses_are_refused(string address)
    {
        Assert.False(KakaoFetchPolicy.IsAllowedAddress(IPAddress.Parse(address), allowLoopback: false));
    }

    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("172.32.0.1")]
    [InlineData("100.128.0.1")]
    [InlineData("211.249.220.24")]
    [InlineData("2600:1f18::1")]
    [InlineData("::ffff:8.8.8.8")]
    public void Public_addresses_are_allowed(string address)
    {
        Assert.True(KakaoFetchPolicy.IsAllowedAddress(IPAddress.Parse(address), allowLoopback: false));
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("::1", true)]
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("10.0.0.1", false)]
    [InlineData("169.254.169.254", false)]
    [InlineData("fe80::1", false)]
    public void Allowing_loopback_allows_loopback_only(string address, bool allowed)
    {
        Assert.Equal(allowed, KakaoFetchPolicy.IsAllowedAddress(IPAddress.Parse(address), allowLoopback: true));
    }

    [Theory]
    [InlineData("http://secure.kakaocdn.net/a.jpg", true)]
    [InlineData("https://SECURE.kakaocdn.net./a.jpg", true)]
    [InlineData("http://secure.kakaocdn.net:8080/a.jpg", true)]
    [InlineData("http://evil.example/a.jpg", false)]
    [InlineData("http://secure.kakaocdn.net.evil.example/a.jpg", false)]
    [InlineData("http://secure.kakaocdn.net@evil.example/a.jpg", false)]
    [InlineData("http://user:pw@secure.kakaocdn.net/a.jpg", false)]
    [InlineData("ftp://secure.kakaocdn.net/a.jpg", false)]
    [InlineData("file:///etc/passwd", false)]
    [InlineData("http://127.0.0.1/a.jpg", false)]
    [InlineData("http://[::1]/a.jpg", false)]
    public void Only_http_urls_on_allow_listed_host_names_without_user_info_pass(string url, bool allowed)
    {
        Assert.Equal(allowed, KakaoFetchPolicy.CheckUrl(new Uri(url), Allowed) is null);
    }

    [Theory]
    [InlineData("http://secure.kakaocdn.net/a.jpg\0")]
    [InlineData("http://secure.kakaocdn.net/a\0.jpg")]
    [InlineData("http://secure.kakaocdn.net/a.jpg\r\nX-Injected: 1")]
    [InlineData("http://secure.kakaocdn.net/a .jpg")]
    [InlineData("http://secure.kakaocdn.net/a.jpg\u0085")]
    [InlineData("http://secure.kakaocdn.net/a.jpg\u007f")]
    [InlineData("/relative/a.jpg")]
    [InlineData("")]
    [InlineData(null)]
    public void Payload_text_with_control_characters_or_whitespace_is_no_url(string? text)
    {
        Assert.Null(KakaoFetchPolicy.ParseUrl(text));
    }

    [Fact]
    public void A_url_over_the_length_limit_is_no_url()
    {
        var prefix = "http://secure.kakaocdn.net/a.jpg?pad=";

        Assert.NotNull(KakaoFetchPolicy.ParseUrl(prefix + new string('a', KakaoFetchPolicy.MaxUrlLength - prefix.Length)));
        Assert.Null(KakaoFetchPolicy.ParseUrl(prefix + new string('a', KakaoFetchPolicy.MaxUrlLength - prefix.Length + 1)));
    }

    [Theory]
    [InlineData(600, 600)] // Kakao's usual ten minutes: trusted
    [InlineData(900, 900)] // exactly the cap
    [InlineData(901, 900)] // beyond the cap: capped
    [InlineData(253402300798 - 1_795_424_400, 900)] // year 9999: capped
    [InlineData(-5, -5)] // already expired: stays expired
    public void The_deadline_is_the_urls_expires_capped_at_the_maximum_lifetime_after_receipt(long expiresInSeconds, long deadlineInSeconds)
    {
        var receivedAt = DateTimeOffset.FromUnixTimeSeconds(1_795_424_400);
        var url = new Uri($"http://secure.kakaocdn.net/a.jpg?expires={receivedAt.ToUnixTimeSeconds() + expiresInSeconds}");

        var deadline = KakaoFetchPolicy.Deadline(url, receivedAt, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(15));

        Assert.Equal(receivedAt.AddSeconds(deadlineInSeconds), deadline);
    }

    [Fact]
    public void A_url_without_expires_gets_the_default_lifetime_within_the_cap()
    {
        var receivedAt = DateTimeOffset.FromUnixTimeSeconds(1_795_424_400);
        var url = new Uri("http://secure.kakaocdn.net/a.jpg");

        Assert.Equal(receivedAt.AddMinutes(10), KakaoFetchPolicy.Deadline(url, receivedAt, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(15)));
        Assert.Equal(receivedAt.AddMinutes(5), KakaoFetchPolicy.Deadline(url, receivedAt, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(5)));
    }
}
