using System.Security.Cryptography;
using System.Text;

namespace SecureImage.Core.Crypto;

/// <summary>
/// The service never stores a chatbot user's raw key: only HMAC-SHA256(secret, bot ‖ subject). The
/// bot is part of the input so the same user of two bots cannot be linked across them.
/// </summary>
public sealed class SubjectHasher
{
    public const int KeySizeBytes = 32;
    private readonly byte[] _key;

    public SubjectHasher(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySizeBytes)
        {
            throw new ArgumentException("The subject hash key must be 32 bytes.", nameof(key));
        }

        _key = key.ToArray();
    }

    public string Hash(string botId, string subjectId)
    {
        ArgumentNullException.ThrowIfNull(botId);
        ArgumentNullException.ThrowIfNull(subjectId);
        var input = Encoding.UTF8.GetBytes($"v1\n{botId}\n{subjectId}");
        return Convert.ToHexStringLower(HMACSHA256.HashData(_key, input));
    }
}
