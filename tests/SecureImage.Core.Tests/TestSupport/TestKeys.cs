using System.Security.Cryptography;
using System.Text;
using SecureImage.Core.Crypto;

namespace SecureImage.Core.Tests.TestSupport;

/// <summary>Key material for tests. A key id always maps to the same 32 bytes, so two rings that share an id share the key.</summary>
internal static class TestKeys
{
    public static byte[] Material(string keyId) => SHA256.HashData(Encoding.UTF8.GetBytes($"secureimage-test-key:{keyId}"));

    /// <summary>A ring of 32-byte keys: <paramref name="activeKeyId"/> plus <paramref name="alsoOnRing"/>.</summary>
    public static KeyRing Ring(string activeKeyId, params string[] alsoOnRing) =>
        new(alsoOnRing.Prepend(activeKeyId).Select(id => KeyValuePair.Create(id, Material(id))), activeKeyId, 32);

    public static byte[] NewDataKey() => RandomNumberGenerator.GetBytes(EnvelopeFormat.DataKeySize);
}
