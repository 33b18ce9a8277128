using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage;
using Azure.Storage.Blobs;

namespace SecureImage.Storage.AzureBlob;

/// <summary>
/// Where and how <see cref="AzureBlobStore"/> stores blobs. Authenticate either with
/// <see cref="ConnectionString"/> (Shared Key; <c>UseDevelopmentStorage=true</c> for Azurite) or with
/// <see cref="ServiceUri"/> plus <see cref="Credential"/> (Entra ID, e.g. DefaultAzureCredential).
/// </summary>
public sealed class AzureBlobStoreOptions
{
    /// <summary>
    /// The one buffer an upload holds. Bodies shorter than this go up in one Put Blob, longer ones in
    /// blocks of this size staged one at a time from the same buffer: a power of two fills one pool
    /// bucket exactly, so memory per concurrent upload is this, whatever the image size.
    /// </summary>
    public const int DefaultTransferSizeBytes = 2 * 1024 * 1024;

    /// <summary>
    /// Put Block size, and the buffer of an upload whose expected length is already past the single-put threshold.
    /// Smaller than the transfer size: at 64 concurrent 16 MiB uploads each holds 1 MiB, not 2.
    /// </summary>
    public const int DefaultBlockSizeBytes = 1024 * 1024;

    public const int MinTransferSizeBytes = 64 * 1024;

    public const int MaxTransferSizeBytes = 64 * 1024 * 1024;

    /// <summary>The newest Blob service version both this SDK and the Azurite in package.json (3.37) accept.</summary>
    internal const BlobClientOptions.ServiceVersion PinnedServiceVersion = BlobClientOptions.ServiceVersion.V2026_06_06;

    /// <summary>Headers that may appear in Azure.Core's logs; everything else is logged as REDACTED.</summary>
    internal static readonly string[] LoggedHeaders =
    [
        "x-ms-request-id", "x-ms-client-request-id", "x-ms-version", "x-ms-error-code",
        "x-ms-blob-type", "Content-Length", "Content-Type", "Date", "ETag", "Retry-After",
    ];

    /// <summary>
    /// Query parameters that may appear in Azure.Core's logs. Not <c>blockid</c>, <c>marker</c>,
    /// <c>prefix</c> or any SAS field, all of which the SDK's own default list lets through.
    /// </summary>
    internal static readonly string[] LoggedQueryParameters = ["restype", "comp", "maxresults"];

    /// <summary>Container that holds the blobs (created private when missing).</summary>
    public string ContainerName { get; set; } = "images";

    /// <summary>Azure Storage connection string with an account key (Shared Key authorization).</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Blob service endpoint, e.g. https://account.blob.core.windows.net, used with <see cref="Credential"/>.</summary>
    public Uri? ServiceUri { get; set; }

    /// <summary>Entra ID credential for <see cref="ServiceUri"/>.</summary>
    public TokenCredential? Credential { get; set; }

    /// <summary>Bodies up to this many bytes go up in one Put Blob; longer ones in blocks.</summary>
    public int SinglePutThresholdBytes { get; set; } = DefaultTransferSizeBytes - 1;

    /// <summary>Size of each Put Block; an upload whose expected length is past the threshold buffers one block only.</summary>
    public int BlockSizeBytes { get; set; } = DefaultBlockSizeBytes;

    /// <summary>List Blobs page size (<c>maxresults</c>, 1 to 5000).</summary>
    public int ListPageSize { get; set; } = 5000;

    /// <summary>Retries after the first attempt of each request (exponential back-off).</summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>Back-off before the first retry; it doubles per retry up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long one attempt may wait for the service, and each read of a download's body.</summary>
    public TimeSpan NetworkTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>The HTTP transport (null: Azure.Core's shared one). Tests trust a throw-away certificate with it.</summary>
    public HttpPipelineTransport? Transport { get; set; }

    /// <summary>Extra pipeline policies, e.g. one that counts attempts. They see requests after signing: never log them.</summary>
    public IList<(HttpPipelinePolicy Policy, HttpPipelinePosition Position)> Policies { get; } = [];

    /// <summary>
    /// What is wrong with these options, one sentence per problem naming the setting (<c>Blobs:…</c>),
    /// never its value (a connection string holds the account key). Empty when they are usable.
    /// </summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (!IsValidContainerName(ContainerName))
        {
            problems.Add("Blobs:Container must be 3-63 lower-case letters, digits or single hyphens, starting and ending with a letter or digit.");
        }

        var hasConnectionString = !string.IsNullOrWhiteSpace(ConnectionString);
        if (hasConnectionString == (ServiceUri is not null))
        {
            problems.Add("Configure exactly one of Blobs:ConnectionString (Shared Key) and Blobs:ServiceUri (Entra ID).");
        }
        else if (hasConnectionString)
        {
            if (ConnectionStringProblem(ConnectionString!) is { } problem)
            {
                problems.Add(problem);
            }
        }
        else if (!ServiceUri!.IsAbsoluteUri || ServiceUri.Scheme != Uri.UriSchemeHttps || !string.IsNullOrEmpty(ServiceUri.Query) || !string.IsNullOrEmpty(ServiceUri.UserInfo))
        {
            // Tokens only travel over TLS, and a SAS token in the URI would be a second, unmanaged credential.
            problems.Add("Blobs:ServiceUri must be an https URI without a query (no SAS tokens in configuration).");
        }

        if (SinglePutThresholdBytes < 0 || SinglePutThresholdBytes >= MaxTransferSizeBytes || BlockSizeBytes < 1 || BlockSizeBytes > MaxTransferSizeBytes)
        {
            problems.Add("Blobs:TransferSizeBytes and Blobs:BlockSizeBytes must be positive and at most 64 MiB.");
        }

        if (ListPageSize is < 1 or > 5000)
        {
            problems.Add("Blobs:ListPageSize must be between 1 and 5000.");
        }

        if (MaxRetries is < 0 or > 10)
        {
            problems.Add("Blobs:MaxRetries must be between 0 and 10.");
        }

        if (RetryDelay <= TimeSpan.Zero || MaxRetryDelay < RetryDelay || MaxRetryDelay > TimeSpan.FromMinutes(5))
        {
            problems.Add("Blobs:RetryDelay must be positive and at most Blobs:MaxRetryDelay, which must be at most 5 minutes.");
        }

        if (NetworkTimeout <= TimeSpan.Zero || NetworkTimeout > TimeSpan.FromMinutes(10))
        {
            problems.Add("Blobs:NetworkTimeout must be positive and at most 10 minutes.");
        }

        return problems;
    }

    /// <summary>The SDK client for the container, on the pinned service version with these retries and the logging allow-list.</summary>
    internal BlobContainerClient CreateContainerClient()
    {
        var clientOptions = CreateClientOptions();
        var service = ConnectionString is { } connectionString && !string.IsNullOrWhiteSpace(connectionString)
            ? new BlobServiceClient(connectionString, clientOptions)
            : new BlobServiceClient(ServiceUri!, Credential ?? throw new ArgumentException("Blobs:ServiceUri needs a token credential."), clientOptions);
        return service.GetBlobContainerClient(ContainerName);
    }

    private BlobClientOptions CreateClientOptions()
    {
        var options = new BlobClientOptions(PinnedServiceVersion)
        {
            // Names are exactly what the caller gave (BlobNames allows no leading or trailing '/' anyway).
            TrimBlobNameSlashes = false,
        };

        // Every envelope segment carries an AES-GCM tag, so a changed byte fails decryption anyway;
        // structured-message CRCs would only add work (and a format Azurite may not speak).
        options.TransferValidation.Upload.ChecksumAlgorithm = StorageChecksumAlgorithm.None;
        options.TransferValidation.Download.ChecksumAlgorithm = StorageChecksumAlgorithm.None;

        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.MaxRetries = MaxRetries;
        options.Retry.Delay = RetryDelay;
        options.Retry.MaxDelay = MaxRetryDelay;
        options.Retry.NetworkTimeout = NetworkTimeout;

        options.Diagnostics.ApplicationId = "SecureImage";
        options.Diagnostics.IsLoggingContentEnabled = false;
        Replace(options.Diagnostics.LoggedHeaderNames, LoggedHeaders);
        Replace(options.Diagnostics.LoggedQueryParameters, LoggedQueryParameters);

        if (Transport is not null)
        {
            options.Transport = Transport;
        }

        foreach (var (policy, position) in Policies)
        {
            options.AddPolicy(policy, position);
        }

        return options;
    }

    /// <summary>
    /// Why the SDK's connection-string parser or the account-key rule refuses it, or null. The SDK's
    /// messages do not quote the string, but ours are fixed anyway.
    /// </summary>
    private static string? ConnectionStringProblem(string connectionString)
    {
        BlobServiceClient client;
        try
        {
            client = new BlobServiceClient(connectionString);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException)
        {
            return "Blobs:ConnectionString is not a valid Azure Storage connection string with AccountName and AccountKey (base64).";
        }

        // A SAS connection string parses, but yields a client without a key and a token in its URI.
        if (!client.CanGenerateAccountSasUri || !string.IsNullOrEmpty(client.Uri.Query)
            || (client.Uri.Scheme != Uri.UriSchemeHttp && client.Uri.Scheme != Uri.UriSchemeHttps))
        {
            return "Blobs:ConnectionString must carry an account key and an http(s) endpoint: SAS connection strings are not supported (use Blobs:ServiceUri with Entra ID instead).";
        }

        return null;
    }

    private static void Replace(IList<string> names, IEnumerable<string> allowed)
    {
        names.Clear();
        foreach (var name in allowed)
        {
            names.Add(name);
        }
    }

    private static bool IsValidContainerName(string? name) =>
        name is { Length: >= 3 and <= 63 }
        && name.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-')
        && name[0] != '-' && name[^1] != '-'
        && !name.Contains("--", StringComparison.Ordinal);
}
