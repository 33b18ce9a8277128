using System.Collections.Frozen;
using System.Text;

namespace SecureImage.Core.Crypto;

/// <summary>
/// Named secret keys of one purpose. The active key signs or wraps new material; every key on the
/// ring still verifies or unwraps, so a key can be added and an old one retired without breaking
/// what is live. A retired key is simply no longer on the ring.
/// </summary>
public sealed class KeyRing
{
    public const int MaxKeyIdLength = 64;
    private readonly FrozenDictionary<string, byte[]> _keys;

    public KeyRing(IEnumerable<KeyValuePair<string, byte[]>> keys, string activeKeyId, int keySizeBytes)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var copy = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (id, material) in keys)
        {
            ValidateKeyId(id);
            if (material is null || material.Length != keySizeBytes)
            {
                throw new ArgumentException($"Key '{id}' must be exactly {keySizeBytes} bytes.", nameof(keys));
            }

            if (!copy.TryAdd(id, (byte[])material.Clone()))
            {
                throw new ArgumentException($"Key id '{id}' appears twice.", nameof(keys));
            }
        }

        if (!copy.ContainsKey(activeKeyId))
        {
            throw new ArgumentException($"The active key id '{activeKeyId}' is not on the ring.", nameof(activeKeyId));
        }

        _keys = copy.ToFrozenDictionary(StringComparer.Ordinal);
        ActiveKeyId = activeKeyId;
        KeySizeBytes = keySizeBytes;
    }

    public string ActiveKeyId { get; }

    public int KeySizeBytes { get; }

    public IEnumerable<string> KeyIds => _keys.Keys;

    internal ReadOnlySpan<byte> ActiveKey => _keys[ActiveKeyId];

    internal bool TryGetKey(string keyId, out ReadOnlySpan<byte> key)
    {
        if (_keys.TryGetValue(keyId, out var material))
        {
            key = material;
            return true;
        }

        key = default;
        return false;
    }

    public static void ValidateKeyId(string keyId)
    {
        if (string.IsNullOrEmpty(keyId) || Encoding.UTF8.GetByteCount(keyId) > MaxKeyIdLength)
        {
            throw new ArgumentException($"A key id must be 1 to {MaxKeyIdLength} characters.", nameof(keyId));
        }

        foreach (var c in keyId)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                throw new ArgumentException("A key id may hold only letters, digits, '-', '_' and '.'.", nameof(keyId));
            }
        }
    }

    public override string ToString() => $"KeyRing(active={ActiveKeyId}, keys={_keys.Count})";
}
