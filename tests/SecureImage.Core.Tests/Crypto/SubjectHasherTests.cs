using SecureImage.Core.Crypto;
using SecureImage.Core.Tests.TestSupport;

namespace SecureImage.Core.Tests.Crypto;

public sealed class SubjectHasherTests
{
    private const string Subject = "0123456789abcdef0123";
    private readonly SubjectHasher _hasher = new(TestKeys.Material("subject"));

    [Fact]
    public void Subject_hash_is_the_same_for_the_same_bot_and_subject()
    {
        Assert.Equal(_hasher.Hash("bot-a", Subject), new SubjectHasher(TestKeys.Material("subject")).Hash("bot-a", Subject));
    }

    [Fact]
    public void Subject_hash_is_64_lower_case_hex_characters()
    {
        Assert.Matches("^[0-9a-f]{64}$", _hasher.Hash("bot-a", Subject));
    }

    [Fact]
    public void Subject_hash_differs_per_bot()
    {
        Assert.NotEqual(_hasher.Hash("bot-a", Subject), _hasher.Hash("bot-b", Subject));
    }

    [Fact]
    public void Subject_hash_differs_per_subject()
    {
        Assert.NotEqual(_hasher.Hash("bot-a", Subject), _hasher.Hash("bot-a", Subject + "4"));
    }

    [Fact]
    public void Subject_hash_differs_per_key()
    {
        Assert.NotEqual(_hasher.Hash("bot-a", Subject), new SubjectHasher(TestKeys.Material("another")).Hash("bot-a", Subject));
    }

    [Fact]
    public void Subject_hash_never_contains_the_raw_subject()
    {
        Assert.DoesNotContain(Subject, _hasher.Hash("bot-a", Subject), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("bot-a", _hasher.Hash("bot-a", Subject), StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(33)]
    public void Subject_hash_key_must_be_32_bytes(int size)
    {
        Assert.Throws<ArgumentException>(() => new SubjectHasher(new byte[size]));
    }
}
