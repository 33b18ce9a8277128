using SecureImage.Core.Crypto;
using SecureImage.Core.Tests.TestSupport;

namespace SecureImage.Core.Tests.Crypto;

public sealed class LocalKeyEncryptionKeyTests
{
    private readonly byte[] _dataKey = TestKeys.NewDataKey();
    private readonly Guid _imageId = Guid.NewGuid();

    [Fact]
    public async Task Wrapped_data_key_unwraps_to_the_same_key()
    {
        var kek = new LocalKeyEncryptionKey(TestKeys.Ring("k1"));

        var wrapped = await kek.WrapKeyAsync(_dataKey, _imageId, CancellationToken.None);
        var unwrapped = await kek.UnwrapKeyAsync(wrapped, _imageId, CancellationToken.None);

        Assert.Equal("k1", wrapped.KeyId);
        Assert.Equal(_dataKey, unwrapped);
        Assert.True(wrapped.Ciphertext.AsSpan().IndexOf(_dataKey.AsSpan(0, 16)) < 0);
    }

    [Fact]
    public async Task Wrapping_the_same_key_twice_gives_different_ciphertexts()
    {
        var kek = new LocalKeyEncryptionKey(TestKeys.Ring("k1"));

        var first = await kek.WrapKeyAsync(_dataKey, _imageId, CancellationToken.None);
        var second = await kek.WrapKeyAsync(_dataKey, _imageId, CancellationToken.None);

        Assert.NotEqual(first.Ciphertext, second.Ciphertext);
    }

    [Fact]
    public async Task Wrapped_key_does_not_unwrap_for_another_image()
    {
        var kek = new LocalKeyEncryptionKey(TestKeys.Ring("k1"));
        var wrapped = await kek.WrapKeyAsync(_dataKey, _imageId, CancellationToken.None);

        await Assert.ThrowsAsync<KeyUnwrapException>(() => kek.UnwrapKeyAsync(wrapped, Guid.NewGuid(), CancellationToken.None));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(20)]
    [InlineData(1 + 12 + 32)]
    [InlineData(1 + 12 + 32 + 15)]
    public async Task Wrapped_key_with_a_flipped_bit_does_not_unwrap(int position)
    {
        var kek = new LocalKeyEncryptionKey(TestKeys.Ring("k1"));
        var wrapped = await kek.WrapKeyAsync(_dataKey, _imageId, CancellationToken.None);
        var tampered = (byte[])wrapped.Ciphertext.Clone();
        tampered[position] ^= 0x04;

        await Assert.ThrowsAsync<KeyUnwrapException>(() => kek.UnwrapKeyAsync(wrapped with { Ciphertext = tampered }, _imageId, CancellationToken.None));
    }

    [Fact]
    public async Task Wrapped_key_cut_short_does_not_unwrap()
    {
        var kek = new LocalKeyEncryptionKey(TestKeys.Ring("k1"));
        var wrapped = await kek.WrapKeyAsync(_dataKey, _imageId, CancellationToken.None);

        await Assert.ThrowsAsync<KeyUnwrapException>(() => kek.UnwrapKeyAsync(wrapped with { Ciphertext = wrapped.Ciphertext[..^1] }, _imageId, CancellationToken.None));
    }

    [Fact]
    public async Task Wrapped_key_under_an_unknown_key_id_does_not_unwrap()
    {
        var kek = new LocalKeyEncryptionKey(TestKeys.Ring("k1"));
        var wrapped = await kek.WrapKeyAsync(_dataKey, _imageId, CancellationToken.None);

        await Assert.ThrowsAsync<KeyUnwrapException>(() => kek.UnwrapKeyAsync(wrapped with { KeyId = "k9" }, _imageId, CancellationToken.None));
    }

    [Fact]
    public async Task Wrapped_key_relabelled_with_another_key_id_on_the_ring_does_not_unwrap()
    {
        var wrapped = await new LocalKeyEncryptionKey(TestKeys.Ring("k1")).WrapKeyAsync(_dataKey, _imageId, CancellationToken.None);
        var kek = new LocalKeyEncryptionKey(TestKeys.Ring("k2", "k1"));

        await Assert.ThrowsAsync<KeyUnwrapException>(() => kek.UnwrapKeyAsync(wrapped with { KeyId = "k2" }, _imageId, CancellationToken.None));
    }

    [Fact]
    public async Task After_rotation_old_keys_still_unwrap_and_new_keys_are_wrapped_under_the_active_key()
    {
        var before = new LocalKeyEncryptionKey(TestKeys.Ring("k1"));
        var oldWrapped = await before.WrapKeyAsync(_dataKey, _imageId, CancellationToken.None);

        var rotated = new LocalKeyEncryptionKey(TestKeys.Ring("k2", "k1"));
        var newWrapped = await rotated.WrapKeyAsync(_dataKey, _imageId, CancellationToken.None);

        Assert.Equal(_dataKey, await rotated.UnwrapKeyAsync(oldWrapped, _imageId, CancellationToken.None));
        Assert.Equal("k2", newWrapped.KeyId);
        Assert.Equal(_dataKey, await rotated.UnwrapKeyAsync(newWrapped, _imageId, CancellationToken.None));
        await Assert.ThrowsAsync<KeyUnwrapException>(() => before.UnwrapKeyAsync(newWrapped, _imageId, CancellationToken.None));
    }

    [Fact]
    public async Task A_ring_without_the_retired_key_refuses_what_it_wrapped()
    {
        var oldWrapped = await new LocalKeyEncryptionKey(TestKeys.Ring("k1")).WrapKeyAsync(_dataKey, _imageId, CancellationToken.None);
        var retired = new LocalKeyEncryptionKey(TestKeys.Ring("k2"));

        await Assert.ThrowsAsync<KeyUnwrapException>(() => retired.UnwrapKeyAsync(oldWrapped, _imageId, CancellationToken.None));
    }

    [Fact]
    public void Key_encryption_keys_must_be_32_bytes()
    {
        var ring = new KeyRing([KeyValuePair.Create("k1", new byte[16])], "k1", 16);

        Assert.Throws<ArgumentException>(() => new LocalKeyEncryptionKey(ring));
    }

    [Fact]
    public async Task Only_32_byte_data_keys_are_wrapped()
    {
        var kek = new LocalKeyEncryptionKey(TestKeys.Ring("k1"));

        await Assert.ThrowsAsync<ArgumentException>(() => kek.WrapKeyAsync(new byte[16], _imageId, CancellationToken.None));
    }
}
