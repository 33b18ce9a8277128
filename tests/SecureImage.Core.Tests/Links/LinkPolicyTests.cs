using SecureImage.Core.Links;

namespace SecureImage.Core.Tests.Links;

public sealed class LinkPolicyTests
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);

    [Fact]
    public void Link_lives_for_its_lifetime_when_the_image_lives_longer()
    {
        var now = At(1_000_000);

        Assert.Equal(At(1_600_000), LinkPolicy.ExpiryFor(now, now + TimeSpan.FromDays(3), Lifetime));
    }

    [Fact]
    public void Link_expiry_is_rounded_down_to_a_whole_second()
    {
        var now = At(1_000_250);

        Assert.Equal(At(1_600_000), LinkPolicy.ExpiryFor(now, now + TimeSpan.FromDays(3), Lifetime));
    }

    [Fact]
    public void Link_never_outlives_its_image()
    {
        var now = At(1_000_000);
        var imageExpiresAt = At(1_300_700);

        Assert.Equal(At(1_300_000), LinkPolicy.ExpiryFor(now, imageExpiresAt, Lifetime));
    }

    [Theory]
    [InlineData(1_000_000, 1_001_000)]
    [InlineData(1_000_500, 1_001_500)]
    [InlineData(1_000_999, 1_001_999)]
    public void Link_is_issued_when_the_image_has_a_second_left(long nowMs, long imageExpiresMs)
    {
        var expiry = LinkPolicy.ExpiryFor(At(nowMs), At(imageExpiresMs), Lifetime);

        Assert.NotNull(expiry);
        Assert.True(expiry > At(nowMs));
        Assert.True(expiry <= At(imageExpiresMs));
        Assert.Equal(0, expiry.Value.Millisecond);
    }

    [Theory]
    [InlineData(1_000_000, 1_000_999)]
    [InlineData(1_000_500, 1_001_200)]
    [InlineData(1_000_999, 1_001_001)]
    [InlineData(1_000_000, 1_000_000)]
    [InlineData(1_000_000, 900_000)]
    public void No_link_is_issued_when_the_image_has_less_than_a_second_left(long nowMs, long imageExpiresMs)
    {
        Assert.Null(LinkPolicy.ExpiryFor(At(nowMs), At(imageExpiresMs), Lifetime));
    }

    private static DateTimeOffset At(long unixMilliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(unixMilliseconds);
}
