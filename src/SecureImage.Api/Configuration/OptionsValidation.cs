using Microsoft.Extensions.Options;
using Npgsql;
using SecureImage.Api.Jobs;
using SecureImage.Core.Links;

namespace SecureImage.Api.Configuration;

internal sealed class ValidateLinksOptions : IValidateOptions<LinksOptions>
{
    public ValidateOptionsResult Validate(string? name, LinksOptions options)
    {
        if (options.Lifetime <= TimeSpan.Zero)
        {
            return ValidateOptionsResult.Fail("SecureImage:Links:Lifetime must be positive.");
        }

        if (options.Lifetime > LinkPolicy.MaxLifetime)
        {
            return ValidateOptionsResult.Fail($"SecureImage:Links:Lifetime must be at most {LinkPolicy.MaxLifetime}.");
        }

        if (options.PublicBaseUrl is { } url && (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp)))
        {
            return ValidateOptionsResult.Fail("SecureImage:Links:PublicBaseUrl must be an absolute http(s) URL.");
        }

        return ValidateOptionsResult.Success;
    }
}

internal sealed class ValidateRetentionOptions : IValidateOptions<RetentionOptions>
{
    public ValidateOptionsResult Validate(string? name, RetentionOptions options)
    {
        var failures = new List<string>();
        foreach (var (value, key) in new[]
        {
            (options.Period, "Period"),
            (options.SweepInterval, "SweepInterval"),
            (options.ClaimLease, "ClaimLease"),
            (options.ReconcileInterval, "ReconcileInterval"),
            (options.OrphanGracePeriod, "OrphanGracePeriod"),
            (options.JobRunHistory, "JobRunHistory"),
            (options.JobRunPurgeInterval, "JobRunPurgeInterval"),
        })
        {
            if (value <= TimeSpan.Zero)
            {
                failures.Add($"SecureImage:Retention:{key} must be positive.");
            }
        }

        // The jobs run on a Hangfire cron: an interval without an even cron would run unevenly, so it is refused.
        foreach (var (value, key) in new[] { (options.SweepInterval, "SweepInterval"), (options.ReconcileInterval, "ReconcileInterval"), (options.JobRunPurgeInterval, "JobRunPurgeInterval") })
        {
            if (value > TimeSpan.Zero && JobSchedule.CronFor(value) is null)
            {
                failures.Add($"SecureImage:Retention:{key} must be {JobSchedule.AllowedIntervals}.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>
/// The upload timeout, against the orphan grace period: reconciliation deletes blobs without a row once they are
/// older than the grace period, so an upload still running by then could commit a row whose blob is gone.
/// </summary>
internal sealed class ValidateUploadTimeout(IOptions<RetentionOptions> retention) : IValidateOptions<LimitsOptions>
{
    public ValidateOptionsResult Validate(string? name, LimitsOptions options)
    {
        if (options.UploadTimeout <= TimeSpan.Zero)
        {
            return ValidateOptionsResult.Fail("SecureImage:Limits:UploadTimeout must be positive.");
        }

        return options.UploadTimeout < retention.Value.OrphanGracePeriod
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail("SecureImage:Limits:UploadTimeout must be shorter than SecureImage:Retention:OrphanGracePeriod, or reconciliation could delete the blob of an upload still running.");
    }
}

internal sealed class ValidateStorageProviders : IValidateOptions<BlobsOptions>
{
    public ValidateOptionsResult Validate(string? name, BlobsOptions options)
    {
        if (options.Provider != "AzureBlob")
        {
            return ValidateOptionsResult.Success;
        }

        if (string.IsNullOrWhiteSpace(options.ConnectionString) && options.ServiceUri is null)
        {
            return ValidateOptionsResult.Fail("SecureImage:Blobs:Provider is AzureBlob: set Blobs:ConnectionString (Shared Key) or Blobs:ServiceUri (Entra ID).");
        }

        // The adapter's own checks (connection string with an account key, https service URI without a
        // query, retry and timeout ranges), each naming the setting and never its value.
        var failures = options.ToAzureBlobStoreOptions(credential: null).Problems().Select(p => $"{SecureImageSections.Root}:{p}").ToList();
        if (options.ManagedIdentityClientId is { } clientId
            && (!string.IsNullOrWhiteSpace(options.ConnectionString) || !Guid.TryParse(clientId, out _)))
        {
            failures.Add("SecureImage:Blobs:ManagedIdentityClientId must be a client id (a GUID) and goes with Blobs:ServiceUri (Entra ID) only.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

internal sealed class ValidateCatalogOptions : IValidateOptions<CatalogOptions>
{
    public ValidateOptionsResult Validate(string? name, CatalogOptions options)
    {
        if (options.Provider == "Sqlite")
        {
            return ValidateSqlite(options.ConnectionString);
        }

        if (options.Provider != "Postgres")
        {
            return ValidateOptionsResult.Success;
        }

        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            return ValidateOptionsResult.Fail("SecureImage:Catalog:Provider is Postgres: set SecureImage:Catalog:ConnectionString (an Npgsql connection string, e.g. Host=…;Database=…;Username=…;Password=…).");
        }

        try
        {
            _ = new NpgsqlConnectionStringBuilder(options.ConnectionString);
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException)
        {
            // The message names the setting only: the value may hold a password.
            return ValidateOptionsResult.Fail("SecureImage:Catalog:ConnectionString is not a valid Npgsql connection string.");
        }
    }

    /// <summary>
    /// Unset means the default under DataDirectory. A value the SQLite builder cannot read would otherwise surface as its
    /// exception (an unknown keyword, a Mode or Default Timeout it cannot parse) when the catalog is built: a crash whose
    /// message quotes the keyword or the value.
    /// </summary>
    private static ValidateOptionsResult ValidateSqlite(string? connectionString)
    {
        const string Invalid = "SecureImage:Catalog:ConnectionString is not a valid SQLite connection string (Data Source=… and keywords of Microsoft.Data.Sqlite; unset: the default under SecureImage:DataDirectory).";
        if (connectionString is null)
        {
            return ValidateOptionsResult.Success;
        }

        try
        {
            _ = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(connectionString);
            return string.IsNullOrWhiteSpace(connectionString) ? ValidateOptionsResult.Fail(Invalid) : ValidateOptionsResult.Success;
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
        {
            return ValidateOptionsResult.Fail(Invalid);
        }
    }
}

internal sealed class ValidateTelemetryOptions : IValidateOptions<TelemetryOptions>
{
    public ValidateOptionsResult Validate(string? name, TelemetryOptions options)
    {
        var failures = new List<string>();
        if (options.OtlpEndpoint is { } endpoint && TelemetryOptionsParsing.OtlpBase(endpoint) is null)
        {
            failures.Add("SecureImage:Telemetry:OtlpEndpoint must be an absolute http(s) URL without query, e.g. http://otel-collector:4318.");
        }

        if (options.MetricExportInterval <= TimeSpan.Zero)
        {
            failures.Add("SecureImage:Telemetry:MetricExportInterval must be positive.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

internal static class TelemetryOptionsParsing
{
    /// <summary>The OTLP base URL with a trailing slash, or null when it is not an absolute http(s) URL without query or fragment.</summary>
    public static Uri? OtlpBase(string? endpoint) =>
        Uri.TryCreate(endpoint?.Trim(), UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && uri.Query.Length == 0 && uri.Fragment.Length == 0 && uri.UserInfo.Length == 0
            ? new Uri(uri.AbsoluteUri.TrimEnd('/') + "/")
            : null;
}
