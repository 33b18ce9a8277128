using Azure.Core;

namespace SecureImage.Storage.AzureBlob;

/// <summary>
/// Where and how <see cref="AzureBlobStore"/> stores blobs. Authenticate either with
/// <see cref="ConnectionString"/> (Shared Key; <c>UseDevelopmentStorage=true</c> for Azurite) or with
/// <see cref="ServiceUri"/> plus <see cref="Credential"/> (Entra ID, e.g. DefaultAzureCredential).
/// </summary>
public sealed class AzureBlobStoreOptions
{
    // The upload holds threshold + 1 bytes in one pooled buffer (and reuses it for every block), so
    // a threshold one byte under 2 MiB keeps that buffer in the 2 MiB pool bucket: about 2 MiB per
    // concurrent upload whatever the image size.
    public const int DefaultSinglePutThresholdBytes = (2 * 1024 * 1024) - 1;
    public const int DefaultBlockSizeBytes = 1024 * 1024;

    /// <summary>Container that holds the blobs (created private when missing).</summary>
    public string ContainerName { get; set; } = "images";

    /// <summary>Azure Storage connection string with an account key (Shared Key authorization).</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Blob service endpoint, e.g. https://account.blob.core.windows.net, used with <see cref="Credential"/>.</summary>
    public Uri? ServiceUri { get; set; }

    /// <summary>Entra ID credential for <see cref="ServiceUri"/>.</summary>
    public TokenCredential? Credential { get; set; }

    /// <summary>Bodies up to this many bytes go up in one Put Blob; longer ones in blocks.</summary>
    public int SinglePutThresholdBytes { get; set; } = DefaultSinglePutThresholdBytes;

    /// <summary>Size of each Put Block; the upload buffers at most one block at a time.</summary>
    public int BlockSizeBytes { get; set; } = DefaultBlockSizeBytes;

    /// <summary>List Blobs page size (<c>maxresults</c>, 1 to 5000).</summary>
    public int ListPageSize { get; set; } = 5000;

    /// <summary>Retry, transport and diagnostics of the HTTP pipeline.</summary>
    public AzureBlobClientOptions ClientOptions { get; set; } = new();

    internal void Validate()
    {
        if (!IsValidContainerName(ContainerName))
        {
            throw new ArgumentException("Blobs:Container must be 3-63 lower-case letters, digits or single hyphens, starting and ending with a letter or digit.");
        }

        var hasConnectionString = !string.IsNullOrWhiteSpace(ConnectionString);
        if (hasConnectionString == (ServiceUri is not null))
        {
            throw new ArgumentException("Configure exactly one of Blobs:ConnectionString (Shared Key) and Blobs:ServiceUri (Entra ID).");
        }

        if (ServiceUri is not null)
        {
            if (Credential is null)
            {
                throw new ArgumentException("Blobs:ServiceUri needs a token credential.");
            }

            if (!ServiceUri.IsAbsoluteUri || ServiceUri.Scheme != Uri.UriSchemeHttps || !string.IsNullOrEmpty(ServiceUri.Query))
            {
                throw new ArgumentException("Blobs:ServiceUri must be an https URI without a query (no SAS tokens in configuration).");
            }
        }

        if (SinglePutThresholdBytes < 0 || BlockSizeBytes < 1 || BlockSizeBytes > 100 * 1024 * 1024 || SinglePutThresholdBytes > 256 * 1024 * 1024)
        {
            throw new ArgumentException("SinglePutThresholdBytes must be 0-256 MiB and BlockSizeBytes 1 byte-100 MiB.");
        }

        if (ListPageSize is < 1 or > 5000)
        {
            throw new ArgumentException("ListPageSize must be between 1 and 5000.");
        }

        ArgumentNullException.ThrowIfNull(ClientOptions);
    }

    private static bool IsValidContainerName(string? name) =>
        name is { Length: >= 3 and <= 63 }
        && name.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-')
        && name[0] != '-' && name[^1] != '-'
        && !name.Contains("--", StringComparison.Ordinal);
}

/// <summary>
/// Pipeline options (retry, transport, diagnostics), mirroring Azure.Storage.Blobs' BlobClientOptions.
/// Logging is allow-listed: only the headers and query parameters named here are logged; everything
/// else (Authorization, x-ms-date's signature companions, SAS <c>sig</c>, block ids) is redacted.
/// </summary>
public sealed class AzureBlobClientOptions : ClientOptions
{
    /// <summary>Headers that may appear in logs. Never add Authorization or a SAS-bearing header.</summary>
    internal static readonly string[] LoggedHeaders =
    [
        "x-ms-request-id", "x-ms-client-request-id", "x-ms-version", "x-ms-error-code",
        "x-ms-blob-type", "Content-Length", "Content-Type", "Date", "ETag", "Retry-After",
    ];

    /// <summary>Query parameters that may appear in logs (never <c>sig</c> or other SAS fields).</summary>
    internal static readonly string[] LoggedQueryParameters = ["restype", "comp", "maxresults"];

    /// <summary>Names that must never be logged, whatever a caller adds to the allow lists.</summary>
    internal static readonly string[] NeverLogged =
    [
        "Authorization", "x-ms-copy-source-authorization", "Proxy-Authorization", "Cookie", "Set-Cookie",
        "sig", "se", "sv", "sp", "skoid", "sktid", "skv", "marker", "blockid",
    ];

    public AzureBlobClientOptions()
    {
        Retry.Mode = RetryMode.Exponential;
        Retry.MaxRetries = 3;
        Retry.Delay = TimeSpan.FromMilliseconds(500);
        Retry.MaxDelay = TimeSpan.FromSeconds(10);
        Retry.NetworkTimeout = TimeSpan.FromSeconds(100);
        Diagnostics.ApplicationId = "SecureImage";
        Diagnostics.IsLoggingContentEnabled = false;
        Diagnostics.LoggedHeaderNames.Clear();
        foreach (var header in LoggedHeaders)
        {
            Diagnostics.LoggedHeaderNames.Add(header);
        }

        Diagnostics.LoggedQueryParameters.Clear();
        foreach (var parameter in LoggedQueryParameters)
        {
            Diagnostics.LoggedQueryParameters.Add(parameter);
        }
    }

    /// <summary>Removes secret-bearing names from the allow lists (a caller may have added them).</summary>
    internal void EnforceRedaction()
    {
        Diagnostics.IsLoggingContentEnabled = false;
        foreach (var name in NeverLogged)
        {
            RemoveAll(Diagnostics.LoggedHeaderNames, name);
            RemoveAll(Diagnostics.LoggedQueryParameters, name);
        }
    }

    private static void RemoveAll(IList<string> names, string name)
    {
        for (var i = names.Count - 1; i >= 0; i--)
        {
            if (string.Equals(names[i], name, StringComparison.OrdinalIgnoreCase))
            {
                names.RemoveAt(i);
            }
        }
    }
}
