using System.Security.Cryptography;
using SecureImage.Core.Crypto;

namespace SecureImage.Storage.Tests.KeyVault;

/// <summary>The Key Vault KEK against a local HTTPS double of Key Vault's wrapKey/unwrapKey API.</summary>
public sealed class KeyVaultKeyEncryptionKeyTests : IAsyncLifetime
{
    private FakeKeyVault _vault = null!;

    public async Task InitializeAsync() => _vault = await FakeKeyVault.StartAsync();

    public async Task DisposeAsync() => await _vault.DisposeAsync();

    private static CancellationToken Timeout => TestTimeout.OneMinute;

    [Fact]
    public async Task A_data_key_wrapped_by_key_vault_unwraps_for_its_image_and_records_the_key_version()
    {
        var kek = _vault.NewKek();
        var dataKey = RandomNumberGenerator.GetBytes(32);
        var imageId = Guid.NewGuid();

        var wrapped = await kek.WrapKeyAsync(dataKey, imageId, Timeout);

        Assert.Equal($"kv.{FakeKeyVault.KeyName}.{_vault.Latest}", wrapped.KeyId);
        Assert.Equal(dataKey, await kek.UnwrapKeyAsync(wrapped, imageId, Timeout));
        Assert.All(_vault.Requests, r => Assert.Equal(("7.5", true), (r.ApiVersion, r.Bearer)));
        Assert.All(_vault.Requests, r => Assert.Equal("RSA-OAEP-256", r.Alg));
        Assert.Equal([$"/keys/{FakeKeyVault.KeyName}/wrapkey", $"/keys/{FakeKeyVault.KeyName}/{_vault.Latest}/unwrapkey"], _vault.Requests.Select(r => r.Path));
        await kek.CheckAvailableAsync(Timeout);
    }

    [Fact]
    public async Task A_wrapped_key_does_not_unwrap_for_another_image()
    {
        var kek = _vault.NewKek();
        var wrapped = await kek.WrapKeyAsync(RandomNumberGenerator.GetBytes(32), Guid.NewGuid(), Timeout);

        await Assert.ThrowsAsync<KeyUnwrapException>(() => kek.UnwrapKeyAsync(wrapped, Guid.NewGuid(), Timeout));
        await Assert.ThrowsAsync<KeyUnwrapException>(() => kek.UnwrapKeyAsync(wrapped with { KeyId = "kek1" }, Guid.NewGuid(), Timeout));
    }

    [Fact]
    public async Task After_rotation_new_keys_are_wrapped_by_the_new_version_and_old_keys_still_unwrap()
    {
        var kek = _vault.NewKek();
        var imageId = Guid.NewGuid();
        var dataKey = RandomNumberGenerator.GetBytes(32);
        var old = await kek.WrapKeyAsync(dataKey, imageId, Timeout);

        var newVersion = _vault.AddVersion();
        var fresh = await kek.WrapKeyAsync(dataKey, imageId, Timeout);

        Assert.EndsWith("." + newVersion, fresh.KeyId, StringComparison.Ordinal);
        Assert.NotEqual(old.KeyId, fresh.KeyId);
        Assert.Equal(dataKey, await kek.UnwrapKeyAsync(old, imageId, Timeout));
        Assert.Equal(dataKey, await kek.UnwrapKeyAsync(fresh, imageId, Timeout));
    }

    [Fact]
    public async Task Access_denied_makes_the_key_provider_unavailable_not_the_key_bad()
    {
        var kek = _vault.NewKek();
        var wrapped = await kek.WrapKeyAsync(RandomNumberGenerator.GetBytes(32), Guid.NewGuid(), Timeout);
        _vault.Forbid = true;

        var unwrap = await Assert.ThrowsAsync<KeyProviderUnavailableException>(() => kek.UnwrapKeyAsync(wrapped, Guid.NewGuid(), Timeout));
        var check = await Assert.ThrowsAsync<KeyProviderUnavailableException>(() => kek.CheckAvailableAsync(Timeout));

        Assert.Equal("ForbiddenByRbac", unwrap.ErrorCode);
        Assert.Contains("permission", check.Message, StringComparison.Ordinal);
        Assert.Null(unwrap.RetryAfter);
    }

    [Fact]
    public async Task Throttling_past_the_retries_makes_the_key_provider_unavailable_with_the_vault_s_retry_after()
    {
        var kek = _vault.NewKek();
        _vault.ThrottleNext = int.MaxValue;

        var wrap = await Assert.ThrowsAsync<KeyProviderUnavailableException>(() => kek.WrapKeyAsync(RandomNumberGenerator.GetBytes(32), Guid.NewGuid(), Timeout));

        Assert.Equal("Throttled", wrap.ErrorCode);
        Assert.Equal(TimeSpan.FromSeconds(1), wrap.RetryAfter);
        Assert.Equal(4, _vault.Requests.Count);
    }

    [Fact]
    public async Task Throttling_with_retry_after_is_retried_after_the_requested_delay_and_then_succeeds()
    {
        var kek = _vault.NewKek();
        _vault.ThrottleNext = 1;

        var wrapped = await kek.WrapKeyAsync(RandomNumberGenerator.GetBytes(32), Guid.NewGuid(), Timeout);

        Assert.StartsWith("kv.", wrapped.KeyId, StringComparison.Ordinal);
        var requests = _vault.Requests.ToList();
        Assert.Equal(2, requests.Count);
        Assert.True(requests[1].At - requests[0].At >= TimeSpan.FromMilliseconds(900), $"retried after {(requests[1].At - requests[0].At).TotalMilliseconds} ms, Retry-After said 1 s");
    }

    [Fact]
    public async Task A_disabled_key_version_makes_the_key_provider_unavailable()
    {
        var kek = _vault.NewKek();
        var imageId = Guid.NewGuid();
        var wrapped = await kek.WrapKeyAsync(RandomNumberGenerator.GetBytes(32), imageId, Timeout);
        _vault.Disable(_vault.Latest);

        var unwrap = await Assert.ThrowsAsync<KeyProviderUnavailableException>(() => kek.UnwrapKeyAsync(wrapped, imageId, Timeout));
        var check = await Assert.ThrowsAsync<KeyProviderUnavailableException>(() => kek.CheckAvailableAsync(Timeout));

        Assert.Equal("KeyDisabled", unwrap.ErrorCode);
        Assert.Equal("KeyDisabled", check.ErrorCode);
        Assert.Null(unwrap.RetryAfter);
    }
}
