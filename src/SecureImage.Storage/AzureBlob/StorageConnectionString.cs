namespace SecureImage.Storage.AzureBlob;

/// <summary>
/// The parts of an Azure Storage connection string the blob client needs. Error messages never
/// repeat the string (it holds the account key).
/// </summary>
internal sealed record StorageConnectionString(Uri BlobEndpoint, StorageSharedKeyCredential Credential)
{
    /// <summary>Azurite's well-known development account (public, documented, not a secret).</summary>
    internal const string DevelopmentAccountName = "devstoreaccount1";

    internal const string DevelopmentAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    internal static readonly Uri DevelopmentBlobEndpoint = new("http://127.0.0.1:10000/devstoreaccount1");

    public static StorageConnectionString Parse(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new FormatException("The blob connection string is malformed: every part must be Name=Value.");
            }

            settings[part[..equals].Trim()] = part[(equals + 1)..].Trim();
        }

        if (settings.TryGetValue("UseDevelopmentStorage", out var development) && bool.TryParse(development, out var useDevelopment) && useDevelopment)
        {
            return new StorageConnectionString(DevelopmentBlobEndpoint, new StorageSharedKeyCredential(DevelopmentAccountName, DevelopmentAccountKey));
        }

        if (settings.ContainsKey("SharedAccessSignature"))
        {
            throw new FormatException("SAS connection strings are not supported: use an account key or Entra ID (Blobs:ServiceUri).");
        }

        if (!settings.TryGetValue("AccountName", out var accountName) || accountName.Length == 0)
        {
            throw new FormatException("The blob connection string has no AccountName.");
        }

        if (!settings.TryGetValue("AccountKey", out var accountKey) || accountKey.Length == 0)
        {
            throw new FormatException("The blob connection string has no AccountKey.");
        }

        Uri endpoint;
        if (settings.TryGetValue("BlobEndpoint", out var blobEndpoint))
        {
            if (!Uri.TryCreate(blobEndpoint, UriKind.Absolute, out endpoint!) || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps))
            {
                throw new FormatException("The blob connection string's BlobEndpoint is not an http(s) URI.");
            }
        }
        else
        {
            var protocol = settings.GetValueOrDefault("DefaultEndpointsProtocol", "https").ToLowerInvariant();
            if (protocol is not ("http" or "https"))
            {
                throw new FormatException("DefaultEndpointsProtocol must be http or https.");
            }

            var suffix = settings.GetValueOrDefault("EndpointSuffix", "core.windows.net");
            endpoint = new Uri($"{protocol}://{accountName}.blob.{suffix}");
        }

        return new StorageConnectionString(endpoint, new StorageSharedKeyCredential(accountName, accountKey));
    }
}
