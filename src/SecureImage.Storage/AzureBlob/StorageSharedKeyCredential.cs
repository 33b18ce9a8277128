using System.Security.Cryptography;
using System.Text;

namespace SecureImage.Storage.AzureBlob;

/// <summary>An account name and key for Shared Key authorization (mirrors the SDK's type of the same name).</summary>
internal sealed class StorageSharedKeyCredential
{
    private readonly byte[] _key;

    public StorageSharedKeyCredential(string accountName, string accountKey)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(accountName);
        ArgumentException.ThrowIfNullOrWhiteSpace(accountKey);
        AccountName = accountName;
        try
        {
            _key = Convert.FromBase64String(accountKey);
        }
        catch (FormatException ex)
        {
            // Never echo the key.
            throw new FormatException("The storage account key is not valid base64.", ex);
        }
    }

    public string AccountName { get; }

    /// <summary>Base64 HMAC-SHA256 of the UTF-8 string under the account key.</summary>
    public string ComputeHmacSha256(string message) =>
        Convert.ToBase64String(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(message)));

    public override string ToString() => $"StorageSharedKeyCredential({AccountName})";
}
