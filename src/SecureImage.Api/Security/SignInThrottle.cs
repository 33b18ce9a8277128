using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.Options;
using SecureImage.Api.Telemetry;
using SecureImage.Core.Threading;

namespace SecureImage.Api.Security;

/// <summary>
/// Password sign-in throttling: one token bucket per client address (IPv6 by its /64) and one per user name, each holding
/// <see cref="AdminOptions.SignInAttemptsPerWindow"/> attempts and refilled evenly over <see cref="AdminOptions.SignInWindow"/>.
/// An attempt takes a token from both before any PBKDF2 work; an empty bucket answers 429 with the wait until its next token.
/// Time comes from <see cref="TimeProvider"/>.
/// </summary>
/// <remarks>
/// Only buckets that gave a token are kept (a key not in the table has a full bucket), in the order of their last token.
/// A bucket is full again one window after its last token, so each attempt first drops the buckets at the old end that
/// are: constant work per attempt, however large the table. At <see cref="MaxTrackedKeys"/> (only a flood from tens of
/// thousands of addresses within one window gets there) the bucket with the oldest token, the one closest to full, is
/// forgotten to make room: memory stays bounded and a new client is never refused for want of room.
/// </remarks>
internal sealed class SignInThrottle(TimeProvider timeProvider, IOptions<AdminOptions> options)
{
    public const int MaxTrackedKeys = 100_000;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, LinkedListNode<Bucket>> _buckets = new(StringComparer.Ordinal);

    /// <summary>Oldest token first.</summary>
    private readonly LinkedList<Bucket> _byLastToken = new();

    /// <summary>Buckets in the table (tests).</summary>
    public int TrackedKeys
    {
        get
        {
            lock (_gate)
            {
                return _buckets.Count;
            }
        }
    }

    /// <summary>Null when the attempt may go ahead (a token was taken from both buckets), otherwise how long to wait.</summary>
    public TimeSpan? TryAcquire(IPAddress? address, string user)
    {
        var now = timeProvider.GetUtcNow();
        var settings = options.Value;
        var interval = settings.SignInWindow / settings.SignInAttemptsPerWindow;
        var addressKey = "a:" + AddressKey(address);
        var userKey = "u:" + user;
        lock (_gate)
        {
            DropRefilled(now, settings.SignInWindow);

            // Both or neither: a refused attempt uses up neither bucket.
            var addressTokens = TokensOf(addressKey, now, settings.SignInAttemptsPerWindow, interval);
            var userTokens = TokensOf(userKey, now, settings.SignInAttemptsPerWindow, interval);
            if (addressTokens < 1 || userTokens < 1)
            {
                return (1 - Math.Min(addressTokens, userTokens)) * interval;
            }

            Take(addressKey, addressTokens, now);
            Take(userKey, userTokens, now);
            return null;
        }
    }

    private double TokensOf(string key, DateTimeOffset now, int capacity, TimeSpan interval)
    {
        if (!_buckets.TryGetValue(key, out var node))
        {
            return capacity;
        }

        var elapsed = now - node.Value.LastToken;
        return elapsed <= TimeSpan.Zero ? node.Value.Tokens : Math.Min(capacity, node.Value.Tokens + (elapsed / interval));
    }

    private void Take(string key, double tokens, DateTimeOffset now)
    {
        if (_buckets.Remove(key, out var node))
        {
            _byLastToken.Remove(node);
        }
        else if (_buckets.Count >= MaxTrackedKeys && _byLastToken.First is { } oldest)
        {
            _buckets.Remove(oldest.Value.Key);
            _byLastToken.RemoveFirst();
        }

        _buckets[key] = _byLastToken.AddLast(new Bucket(key, tokens - 1, now));
    }

    private void DropRefilled(DateTimeOffset now, TimeSpan window)
    {
        while (_byLastToken.First is { } oldest && now - oldest.Value.LastToken >= window)
        {
            _buckets.Remove(oldest.Value.Key);
            _byLastToken.RemoveFirst();
        }
    }

    private static string AddressKey(IPAddress? address)
    {
        if (address is null)
        {
            return "none";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            // One host usually holds a whole /64: throttle the prefix, not each address in it.
            var bytes = address.GetAddressBytes();
            Array.Clear(bytes, 8, 8);
            return new IPAddress(bytes).ToString();
        }

        return address.ToString();
    }

    /// <summary>The tokens left right after the last one was taken, and when that was.</summary>
    private sealed record Bucket(string Key, double Tokens, DateTimeOffset LastToken);
}

/// <summary>
/// The bound on PBKDF2 work across the instance: the checks run on <see cref="AdminOptions.MaxConcurrentPasswordChecks"/>
/// dedicated threads at the lowest CPU priority (Linux nice 19), at most <see cref="AdminOptions.MaxQueuedPasswordChecks"/>
/// more wait, and anything beyond is refused at once. A flood of sign-ins (even from many addresses) thus gets only the CPU
/// that uploads and downloads leave over; a lone sign-in on a quiet instance still runs at full speed.
/// </summary>
internal sealed class PasswordCheckGate : IDisposable
{
    private readonly LowPriorityWorkers _workers;
    private readonly int _capacity;
    private int _admitted;

    public PasswordCheckGate(IOptions<AdminOptions> options)
    {
        var settings = options.Value;
        _capacity = settings.MaxConcurrentPasswordChecks + settings.MaxQueuedPasswordChecks;
        _workers = new LowPriorityWorkers(settings.MaxConcurrentPasswordChecks, "secureimage-password-check");
    }

    /// <summary>Checks running or waiting now.</summary>
    public int Admitted => Volatile.Read(ref _admitted);

    /// <summary>Runs <paramref name="check"/> inside the bound; null when the gate is full (the caller answers 429).</summary>
    public async Task<bool?> RunAsync(Func<bool> check, CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _admitted) > _capacity)
        {
            Interlocked.Decrement(ref _admitted);
            return null;
        }

        var done = _workers.RunAsync(() =>
        {
            try
            {
                return check();
            }
            finally
            {
                Interlocked.Decrement(ref _admitted);
            }
        });

        // An abandoned check still runs and holds its place until it has: the bound counts work, not waiters.
        return await done.WaitAsync(cancellationToken);
    }

    public void Dispose() => _workers.Dispose();
}

/// <summary>Admin sign-in figures on the service meter: failed attempts by a stable reason (never a user name or address).</summary>
internal sealed class AdminMetrics
{
    private readonly Counter<long> _failures;

    public AdminMetrics(IMeterFactory meterFactory) =>
        _failures = meterFactory.Create(ServiceMetrics.MeterName).CreateCounter<long>(
            "secureimage.admin.sign_in_failures", unit: "{attempt}", description: "Refused dashboard sign-ins, by reason (credentials, no-role, throttled, busy, oidc).");

    public void SignInFailed(string reason) => _failures.Add(1, new KeyValuePair<string, object?>(Core.Diagnostics.Tracing.Tags.Reason, reason));
}
