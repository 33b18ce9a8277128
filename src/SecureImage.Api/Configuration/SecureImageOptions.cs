using SecureImage.Core.Ingestion;
using System.ComponentModel.DataAnnotations;
using Azure.Core;
using SecureImage.Storage.AzureBlob;
using SecureImage.Core.Links;

namespace SecureImage.Api.Configuration;

/// <summary>The configuration section <c>SecureImage</c>. Every section is bound and validated at start-up.</summary>
internal static class SecureImageSections
{
    public const string Root = "SecureImage";
}

internal sealed class StorageRootOptions
{
    /// <summary>Folder for the embedded default's catalog, blobs and generated keys.</summary>
    [Required]
    public string DataDirectory { get; set; } = "./data";
}

internal sealed class CatalogOptions
{
    public const string Section = "Catalog";

    [Required]
    [AllowedValues("Sqlite", "Postgres")]
    public string Provider { get; set; } = "Sqlite";

    /// <summary>Defaults to <c>Data Source={DataDirectory}/catalog.db</c> for SQLite.</summary>
    public string? ConnectionString { get; set; }
}

internal sealed class BlobsOptions
{
    public const string Section = "Blobs";

    [Required]
    [AllowedValues("FileSystem", "AzureBlob")]
    public string Provider { get; set; } = "FileSystem";

    /// <summary>FileSystem: the folder; defaults to <c>{DataDirectory}/blobs</c>.</summary>
    public string? Path { get; set; }

    /// <summary>AzureBlob with Shared Key (e.g. Azurite's connection string).</summary>
    public string? ConnectionString { get; set; }

    /// <summary>AzureBlob with Entra ID: the blob service URI; the credential is DefaultAzureCredential unless <see cref="ManagedIdentityClientId"/> is set.</summary>
    public Uri? ServiceUri { get; set; }

    /// <summary>AzureBlob with Entra ID: the client id of the user-assigned managed identity to use (ManagedIdentityCredential).</summary>
    public string? ManagedIdentityClientId { get; set; }

    [Required]
    [RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$", ErrorMessage = "Blobs:Container must be a valid container name.")]
    public string Container { get; set; } = "images";

    /// <summary>AzureBlob: the head buffer of an upload of unknown length; shorter bodies go up in one Put Blob, longer ones in blocks.</summary>
    [Range(AzureBlobStoreOptions.MinTransferSizeBytes, AzureBlobStoreOptions.MaxTransferSizeBytes)]
    public int TransferSizeBytes { get; set; } = AzureBlobStoreOptions.DefaultTransferSizeBytes;

    /// <summary>AzureBlob: each Put Block's size, and the one buffer of an upload whose declared length is past the transfer size.</summary>
    [Range(AzureBlobStoreOptions.MinTransferSizeBytes, AzureBlobStoreOptions.MaxTransferSizeBytes)]
    public int BlockSizeBytes { get; set; } = AzureBlobStoreOptions.DefaultBlockSizeBytes;

    /// <summary>AzureBlob: retries after the first attempt of a request (exponential back-off from <see cref="RetryDelay"/>).</summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 3;

    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>AzureBlob: how long one attempt waits for the service (and each read of a download's body).</summary>
    public TimeSpan NetworkTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>The adapter's options for these settings; <paramref name="credential"/> is used with <see cref="ServiceUri"/> only.</summary>
    public AzureBlobStoreOptions ToAzureBlobStoreOptions(TokenCredential? credential)
    {
        var useKey = !string.IsNullOrWhiteSpace(ConnectionString);
        return new AzureBlobStoreOptions
        {
            ContainerName = Container,
            ConnectionString = useKey ? ConnectionString : null,
            ServiceUri = useKey ? null : ServiceUri,
            Credential = useKey ? null : credential,
            SinglePutThresholdBytes = TransferSizeBytes - 1,
            BlockSizeBytes = BlockSizeBytes,
            MaxRetries = MaxRetries,
            RetryDelay = RetryDelay,
            MaxRetryDelay = MaxRetryDelay,
            NetworkTimeout = NetworkTimeout,
        };
    }
}

internal sealed class RetentionOptions
{
    public const string Section = "Retention";

    /// <summary>How long an image lives after upload. Fixed at upload.</summary>
    public TimeSpan Period { get; set; } = TimeSpan.FromDays(3);

    /// <summary>How often the retention job runs (a Hangfire cron: see <see cref="Jobs.JobSchedule"/> for the intervals it can be).</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Images claimed per sweep batch.</summary>
    [Range(1, 10_000)]
    public int SweepBatchSize { get; set; } = 500;

    /// <summary>Blob deletes the sweep keeps in flight at once.</summary>
    [Range(1, 256)]
    public int SweepBlobDeleteParallelism { get; set; } = 16;

    /// <summary>
    /// Upper bound on the sweep's blob deletes per second, 0 for none (the default). Set it when the
    /// blob store serves uploads late during a large sweep (Azurite does: docs/PERFORMANCE.md); keep it
    /// above the sustained upload rate, or the sweep lag grows.
    /// </summary>
    [Range(0, 100_000)]
    public double SweepMaxBlobDeletesPerSecond { get; set; }

    /// <summary>
    /// While client requests are in flight, the sweep deletes one blob at a time and at most this many per second
    /// (5 by default: 432,000 a day), then runs at full parallelism again as soon as no request is in flight.
    /// 0 turns the adaptation off. Keep it above the sustained upload rate, or the sweep lag grows under load.
    /// </summary>
    [Range(0, 100_000)]
    public double SweepBusyBlobDeletesPerSecond { get; set; } = 5;

    /// <summary>How long a sweep's claim keeps other instances off an image; a failed erase is retried after it.</summary>
    public TimeSpan ClaimLease { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often orphan blobs (written, never committed) are looked for.</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Blobs younger than this are never treated as orphans: their upload may still be committing.</summary>
    public TimeSpan OrphanGracePeriod { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long job runs stay for the dashboard; older ones are deleted by the job-run purge.</summary>
    public TimeSpan JobRunHistory { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often job runs older than <see cref="JobRunHistory"/> are deleted.</summary>
    public TimeSpan JobRunPurgeInterval { get; set; } = TimeSpan.FromHours(1);
}

internal sealed class LinksOptions
{
    public const string Section = "Links";

    /// <summary>Lifetime of a download link; at most 10 minutes.</summary>
    public TimeSpan Lifetime { get; set; } = LinkPolicy.MaxLifetime;

    /// <summary>Absolute base of download links (e.g. https://images.example.com). Defaults to the request's scheme and host.</summary>
    public Uri? PublicBaseUrl { get; set; }
}

internal sealed class LimitsOptions
{
    public const string Section = "Limits";

    [Range(1, 1L << 40)]
    public long MaxUploadBytes { get; set; } = 20L * 1024 * 1024;

    [Range(1, 1_000_000_000)]
    public long MaxPixels { get; set; } = 40_000_000;

    [Range(1, 65_535)]
    public int MaxSidePixels { get; set; } = 20_000;

    [Range(1, 10_000)]
    public int MaxFrames { get; set; } = 100;

    /// <summary>From the first byte of an upload (or Kakao fetch) to its catalog commit; shorter than Retention:OrphanGracePeriod.</summary>
    public TimeSpan UploadTimeout { get; set; } = ImageIngestionOptions.DefaultUploadTimeout;

    public const int DefaultRequestReadAheadBytes = 64 * 1024;

    /// <summary>
    /// How much of a request the socket transport reads ahead of the handler, per connection (Kestrel's
    /// SocketTransportOptions.MaxReadBufferSize, 1 MiB by default). Its buffers are pinned and pooled, so at
    /// Kestrel's default every connection that once uploaded faster than the blob store took it kept ≈ 1 MiB.
    /// </summary>
    // At least Kestrel's 32 KiB of request headers: a header block larger than the read-ahead could never complete.
    [Range(32 * 1024, 16 * 1024 * 1024)]
    public int RequestReadAheadBytes { get; set; } = DefaultRequestReadAheadBytes;
}

internal sealed class KeyRingOptions
{
    public string? ActiveKeyId { get; set; }

    /// <summary>Key id → base64 of 32 random bytes.</summary>
    public Dictionary<string, string> Keys { get; set; } = new(StringComparer.Ordinal);
}

internal sealed class KeysOptions
{
    public const string Section = "Keys";

    /// <summary>A JSON key file with the same shape as this section (kek, links, subjectHashKey).</summary>
    public string? File { get; set; }

    /// <summary>Key-encryption keys that wrap each image's data key.</summary>
    public KeyRingOptions Kek { get; set; } = new();

    /// <summary>HMAC keys that sign download links.</summary>
    public KeyRingOptions Links { get; set; } = new();

    /// <summary>Base64 of 32 random bytes: the HMAC key for subject hashes. Never rotate it without re-hashing.</summary>
    public string? SubjectHashKey { get; set; }

    /// <summary>When set, data keys are wrapped by this Key Vault key instead of the local Kek ring.</summary>
    public KeyVaultKekOptions KeyVault { get; set; } = new();
}

internal sealed class KeyVaultKekOptions
{
    /// <summary>Key identifier without a version (https://{vault}/keys/{name}); its latest version wraps new keys.</summary>
    public Uri? KeyUri { get; set; }
}

internal sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>
    /// Base URL of an OTLP receiver (e.g. http://otel-collector:4318). Traces go to {base}/v1/traces and
    /// metrics to {base}/v1/metrics (http/protobuf); with Grpc the URL is used as it is. Unset: no export,
    /// unless the standard OTEL_EXPORTER_OTLP_ENDPOINT is set.
    /// </summary>
    public string? OtlpEndpoint { get; set; }

    [Required]
    [AllowedValues("HttpProtobuf", "Grpc")]
    public string OtlpProtocol { get; set; } = "HttpProtobuf";

    /// <summary>How often metrics are exported.</summary>
    public TimeSpan MetricExportInterval { get; set; } = TimeSpan.FromSeconds(60);
}
