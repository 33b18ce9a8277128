using System.Text;
using SecureImage.Core.Crypto;
using SecureImage.Core.Tests.TestSupport;

namespace SecureImage.Core.Tests.Crypto;

public sealed class SealedSecretTests
{
    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("<masterKey><value>c2VjcmV0IGtleSBtYXRlcmlhbA==</value></masterKey>");
    private readonly LocalKeyEncryptionKey _kek = new(TestKeys.Ring("k1"));

    [Fact]
    public async Task A_sealed_secret_opens_to_the_same_bytes_and_holds_none_of_them()
    {
        var sealedSecret = await SealedSecret.SealAsync(_kek, Secret, CancellationToken.None);

        Assert.Equal(Secret, await sealedSecret.OpenAsync(_kek, CancellationToken.None));
        Assert.Equal("k1", sealedSecret.Key.KeyId);
        Assert.True(sealedSecret.Ciphertext.AsSpan().IndexOf(Secret.AsSpan(0, 16)) < 0);
        Assert.NotEqual(sealedSecret.Ciphertext, (await SealedSecret.SealAsync(_kek, Secret, CancellationToken.None)).Ciphertext);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(12)]
    [InlineData(-1)]
    public async Task A_flipped_bit_anywhere_in_the_ciphertext_is_refused(int position)
    {
        var sealedSecret = await SealedSecret.SealAsync(_kek, Secret, CancellationToken.None);
        var tampered = (byte[])sealedSecret.Ciphertext.Clone();
        tampered[position < 0 ? tampered.Length + position : position] ^= 0x01;

        await Assert.ThrowsAsync<KeyUnwrapException>(() => (sealedSecret with { Ciphertext = tampered }).OpenAsync(_kek, CancellationToken.None));
        await Assert.ThrowsAsync<KeyUnwrapException>(() => (sealedSecret with { Ciphertext = tampered[..10] }).OpenAsync(_kek, CancellationToken.None));
    }

    [Fact]
    public async Task Parts_of_two_sealed_secrets_do_not_combine()
    {
        var first = await SealedSecret.SealAsync(_kek, Secret, CancellationToken.None);
        var second = await SealedSecret.SealAsync(_kek, Secret, CancellationToken.None);

        // Another secret's id: its wrapped data key is bound to its own id.
        await Assert.ThrowsAsync<KeyUnwrapException>(() => (first with { Id = second.Id }).OpenAsync(_kek, CancellationToken.None));

        // Another secret's ciphertext under this one's data key.
        await Assert.ThrowsAsync<KeyUnwrapException>(() => (first with { Ciphertext = second.Ciphertext }).OpenAsync(_kek, CancellationToken.None));
    }

    [Fact]
    public async Task A_secret_sealed_under_a_retired_kek_does_not_open()
    {
        var sealedSecret = await SealedSecret.SealAsync(_kek, Secret, CancellationToken.None);

        await Assert.ThrowsAsync<KeyUnwrapException>(() => sealedSecret.OpenAsync(new LocalKeyEncryptionKey(TestKeys.Ring("k2")), CancellationToken.None));
        Assert.Equal(Secret, await sealedSecret.OpenAsync(new LocalKeyEncryptionKey(TestKeys.Ring("k2", "k1")), CancellationToken.None));
    }
}
