using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using SecureImage.Api.Tests.TestSupport;
using SecureImage.Core.Crypto;

namespace SecureImage.Api.Tests.Deployment;

/// <summary>
/// The Key Vault KEK pointed at the local HTTPS Key Vault double, which then denies access, throttles
/// past every retry or has its key disabled: uploads and downloads answer a 503 problem (never a 500),
/// leave nothing behind, and readiness names the key provider as the unhealthy dependency.
/// </summary>
public sealed class KeyProviderOutageTests : IAsyncLifetime
{
    private FakeKeyVault _vault = null!;

    public async Task InitializeAsync() => _vault = await FakeKeyVault.StartAsync();

    public async Task DisposeAsync() => await _vault.DisposeAsync();

    [Theory]
    [InlineData("forbidden", "ForbiddenByRbac", null)]
    [InlineData("throttled", "Throttled", "1")]
    [InlineData("disabled", "KeyDisabled", null)]
    public async Task When_key_vault_refuses_uploads_and_downloads_answer_503_and_readiness_names_the_key_provider(string failure, string code, string? retryAfter)
    {
        using var factory = new SecureImageFactory("Testing", services: s =>
        {
            s.RemoveAll<IKeyEncryptionKey>();
            s.AddSingleton<IKeyEncryptionKey>(_vault.NewKek());
        });
        var client = factory.CreateBotClient();
        var anonymous = factory.CreateAnonymousClient();
        var consentId = await client.CreateConsentAsync();
        var before = await client.UploadOkAsync(consentId, Corpus.Read("jpg_Canon_40D.jpg"));
        Assert.StartsWith($"kv.{FakeKeyVault.KeyName}.", await WrappedKeyIdAsync(factory, before.Id), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health/ready")).StatusCode);
        var blobsBefore = BlobFiles(factory);

        switch (failure)
        {
            case "forbidden": _vault.Forbid = true; break;
            case "throttled": _vault.ThrottleNext = int.MaxValue; break;
            default: _vault.Disable(_vault.Latest); break;
        }

        var upload = await client.UploadAsync(consentId, Corpus.Read("jpg_Nikon_D70.jpg"));
        var download = await anonymous.GetAsync(ApiClient.PathOf(before.Link.Url));
        var ready = await anonymous.GetAsync("/health/ready");

        foreach (var response in new[] { upload, download })
        {
            var problem = await response.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "service-unavailable");
            Assert.DoesNotContain(code, problem.Detail, StringComparison.Ordinal);
            Assert.DoesNotContain("Key Vault", problem.Detail, StringComparison.Ordinal);
            Assert.Equal(retryAfter, response.Headers.RetryAfter?.ToString());
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var checks = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("checks");
        Assert.Equal("Unhealthy", checks.GetProperty("keyProvider").GetProperty("status").GetString());
        Assert.Contains(code, checks.GetProperty("keyProvider").GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal("Healthy", checks.GetProperty("catalog").GetProperty("status").GetString());
        Assert.Equal("Healthy", checks.GetProperty("blobStore").GetProperty("status").GetString());
        Assert.Equal(blobsBefore, BlobFiles(factory));
        Assert.Equal(1L, await CountImagesAsync(factory));
    }

    private static async Task<string> WrappedKeyIdAsync(SecureImageFactory factory, Guid imageId) =>
        (await factory.Services.GetRequiredService<Core.Catalog.IImageCatalog>().FindImageAsync(imageId, TestTimeout.OneMinute))!.WrappedKey!.KeyId;

    private static async Task<long> CountImagesAsync(SecureImageFactory factory)
    {
        var store = factory.Services.GetRequiredService<IWrappedKeyStore>();
        return (await store.ListWrappedKeysAsync(null, 100, TestTimeout.OneMinute)).Count;
    }

    private static string[] BlobFiles(SecureImageFactory factory) =>
        [.. Directory.EnumerateFiles(Path.Combine(factory.DataDirectory, "blobs"), "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)];
}
