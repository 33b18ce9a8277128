using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests.Kakao;

public sealed class KakaoStartupTests
{
    [Theory]
    [InlineData("Production")]
    [InlineData("Staging")]
    public async Task Allowing_loopback_outside_development_and_testing_refuses_to_start(string environment)
    {
        using var factory = new SecureImageFactory(environment, new Dictionary<string, string?> { ["SecureImage:Kakao:AllowLoopback"] = "true" });

        var output = await factory.AssertRefusesToStartAsync();

        Assert.Contains("AllowLoopback", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SecureImage:Kakao:ResponseBudget", "00:00:05")]
    [InlineData("SecureImage:Kakao:FetchTimeout", "00:00:00")]
    [InlineData("SecureImage:Kakao:CallbackWindow", "00:01:00")]
    [InlineData("SecureImage:Kakao:PluginParameter", "has spaces")]
    [InlineData("SecureImage:Kakao:MaxUrlLifetime", "00:00:00")]
    [InlineData("SecureImage:Kakao:MaxUrlLifetime", "1.00:00:00")]
    [InlineData("SecureImage:Kakao:DefaultUrlLifetime", "00:20:00")]
    public async Task Invalid_kakao_settings_refuse_to_start(string key, string value)
    {
        using var factory = new SecureImageFactory("Testing", new Dictionary<string, string?> { [key] = value });

        var output = await factory.AssertRefusesToStartAsync();

        Assert.Contains(key.Split(':').Last(), output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Preview_links_in_kakao_answers_without_a_public_base_url_refuse_to_start()
    {
        using var factory = new SecureImageFactory("Testing", new Dictionary<string, string?> { ["SecureImage:Kakao:PreviewLinks"] = "true" });

        var output = await factory.AssertRefusesToStartAsync();

        Assert.Contains("PublicBaseUrl", output, StringComparison.Ordinal);
    }
}
