using SecureImage.Core.Crypto;
using SecureImage.Core.Tests.TestSupport;

namespace SecureImage.Core.Tests.Crypto;

public sealed class KeyRingTests
{
    [Fact]
    public void Key_ring_holds_its_keys_and_names_the_active_one()
    {
        var ring = TestKeys.Ring("k2", "k1", "old-key_2024.01");

        Assert.Equal("k2", ring.ActiveKeyId);
        Assert.Equal(32, ring.KeySizeBytes);
        Assert.Equal(["k1", "k2", "old-key_2024.01"], ring.KeyIds.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(16)]
    [InlineData(31)]
    [InlineData(33)]
    public void Key_ring_refuses_a_key_of_the_wrong_size(int size)
    {
        Assert.Throws<ArgumentException>(() => new KeyRing([KeyValuePair.Create("k1", new byte[size])], "k1", 32));
    }

    [Fact]
    public void Key_ring_refuses_a_missing_key()
    {
        Assert.Throws<ArgumentException>(() => new KeyRing([KeyValuePair.Create("k1", (byte[])null!)], "k1", 32));
    }

    [Fact]
    public void Key_ring_refuses_a_key_id_that_appears_twice()
    {
        Assert.Throws<ArgumentException>(() => new KeyRing(
            [KeyValuePair.Create("k1", TestKeys.Material("a")), KeyValuePair.Create("k1", TestKeys.Material("b"))], "k1", 32));
    }

    [Fact]
    public void Key_ring_refuses_an_active_key_id_that_is_not_on_it()
    {
        Assert.Throws<ArgumentException>(() => new KeyRing([KeyValuePair.Create("k1", TestKeys.Material("k1"))], "k2", 32));
    }

    [Theory]
    [InlineData("")]
    [InlineData("k 1")]
    [InlineData("k/1")]
    [InlineData("k1&sig=x")]
    [InlineData("ключ")]
    [InlineData("k1\n")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void Key_ring_refuses_a_key_id_with_bad_characters_or_length(string keyId)
    {
        Assert.Throws<ArgumentException>(() => new KeyRing([KeyValuePair.Create(keyId, TestKeys.Material("k"))], keyId, 32));
    }

    [Fact]
    public void Key_ring_accepts_a_key_id_of_64_characters()
    {
        var keyId = new string('a', 64);

        Assert.Equal(keyId, new KeyRing([KeyValuePair.Create(keyId, TestKeys.Material("k"))], keyId, 32).ActiveKeyId);
    }

    [Fact]
    public void Key_ring_keeps_its_own_copy_of_the_key_material()
    {
        var material = TestKeys.Material("k1");
        var ring = new KeyRing([KeyValuePair.Create("k1", material)], "k1", 32);

        Array.Clear(material);

        Assert.True(ring.TryGetKey("k1", out var key));
        Assert.Equal(TestKeys.Material("k1"), key.ToArray());
    }

    [Fact]
    public void Key_ring_description_does_not_reveal_key_material()
    {
        var ring = TestKeys.Ring("k1");

        Assert.DoesNotContain(Convert.ToHexString(TestKeys.Material("k1")), ring.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Convert.ToBase64String(TestKeys.Material("k1")), ring.ToString(), StringComparison.Ordinal);
    }
}
