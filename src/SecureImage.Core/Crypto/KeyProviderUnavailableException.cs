namespace SecureImage.Core.Crypto;

/// <summary>
/// The key provider (e.g. Key Vault) cannot wrap or unwrap right now: access denied, key disabled,
/// throttled past the retries, or not reachable. Requests answer 503; readiness reports keyProvider
/// unhealthy. Distinct from <see cref="KeyUnwrapException"/>, which means the wrapped key itself is bad.
/// </summary>
public sealed class KeyProviderUnavailableException : Exception
{
    public KeyProviderUnavailableException()
    {
    }

    public KeyProviderUnavailableException(string message)
        : base(message)
    {
    }

    public KeyProviderUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>A short, non-secret code for logs (e.g. the provider's error code or HTTP status).</summary>
    public string? ErrorCode { get; init; }

    /// <summary>
    /// When retrying may help soon (throttling, network), how long to wait; null when it needs an
    /// operator (access denied, key disabled).
    /// </summary>
    public TimeSpan? RetryAfter { get; init; }
}
