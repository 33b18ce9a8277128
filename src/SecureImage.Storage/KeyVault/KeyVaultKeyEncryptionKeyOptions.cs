using Azure.Core;

namespace SecureImage.Storage.KeyVault;

/// <summary>The Key Vault key that wraps data keys, and how to reach it.</summary>
public sealed class KeyVaultKeyEncryptionKeyOptions
{
    /// <summary>Longest key name that still fits the catalog's key id "kv.{name}.{version}" (64 characters).</summary>
    public const int MaxKeyNameLength = 28;

    /// <summary>Key identifier without a version, e.g. https://myvault.vault.azure.net/keys/secureimage-kek (new keys are wrapped by its latest version).</summary>
    public Uri? KeyUri { get; set; }

    /// <summary>Entra ID credential (managed identity in Azure).</summary>
    public TokenCredential? Credential { get; set; }

    public KeyVaultClientOptions ClientOptions { get; set; } = new();

    /// <summary>Splits <see cref="KeyUri"/> into the vault and the key name, or explains what is wrong (naming the setting, never a secret).</summary>
    internal (Uri Vault, string KeyName) Parse()
    {
        if (KeyUri is not { IsAbsoluteUri: true } uri || uri.Scheme != Uri.UriSchemeHttps || !string.IsNullOrEmpty(uri.Query))
        {
            throw new ArgumentException("SecureImage:Keys:KeyVault:KeyUri must be an https key identifier such as https://myvault.vault.azure.net/keys/secureimage-kek.");
        }

        var segments = uri.AbsolutePath.Trim('/').Split('/');
        if (segments.Length != 2 || segments[0] != "keys")
        {
            throw new ArgumentException("SecureImage:Keys:KeyVault:KeyUri must name a key without a version: https://{vault}/keys/{name}.");
        }

        var name = segments[1];
        if (name.Length is 0 or > MaxKeyNameLength || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        {
            throw new ArgumentException($"SecureImage:Keys:KeyVault:KeyUri: the key name must be 1 to {MaxKeyNameLength} letters, digits or hyphens.");
        }

        if (Credential is null)
        {
            throw new ArgumentException("SecureImage:Keys:KeyVault needs a token credential.");
        }

        return (new Uri(uri.GetLeftPart(UriPartial.Authority)), name);
    }
}

/// <summary>Retry (429 and 5xx, honouring Retry-After), transport and diagnostics of the Key Vault pipeline.</summary>
public sealed class KeyVaultClientOptions : ClientOptions
{
    public KeyVaultClientOptions()
    {
        Retry.Mode = RetryMode.Exponential;
        Retry.MaxRetries = 3;
        Retry.Delay = TimeSpan.FromMilliseconds(500);
        Retry.MaxDelay = TimeSpan.FromSeconds(10);
        Retry.NetworkTimeout = TimeSpan.FromSeconds(30);

        // Request and response bodies hold key material: never log them.
        Diagnostics.IsLoggingContentEnabled = false;
        Diagnostics.LoggedQueryParameters.Add("api-version");
    }
}
