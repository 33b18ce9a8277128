using System.Collections.Concurrent;
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
/// Time comes from <see cref="TimeProvider"/>. The table is bounded: full buckets are dropped when it grows, and past the
/// bound new keys are refused (the flood is throttled, never the memory).
/// </summary>
internal sealed class SignInThrottle(TimeProvider timeProvider, IOptions<AdminOptions> options)
{
    public const int MaxTrackedKeys = 100_000;
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    /// <summary>Null when the attempt may go ahead (a token was taken from both buckets), otherwise how long to wait.</summary>
    public TimeSpan? TryAcquire(IPAddress? address, string user)
    {
        var now = timeProvider.GetUtcNow();
        var settings = options.Value;
        var addressKey = "a:" + AddressKey(address);
        var userKey = "u:" + user;
        if (_buckets.Count >= MaxTrackedKeys)
        {
            Prune(now, settings);
        }

        var addressBucket = Get(addressKey, settings);
        var userBucket = Get(userKey, settings);
        if (addressBucket is null || userBucket is null)
        {
            return settings.SignInWindow;
        }

        // Both or neither: a refused attempt must not use up the other bucket.
        var first = string.CompareOrdinal(addressKey, userKey) < 0 ? addressBucket : userBucket;
        var second = ReferenceEquals(first, addressBucket) ? userBucket : addressBucket;
        lock (first)
        {
            lock (second)
            {
                var waitA = addressBucket.WaitFor(now, settings);
                var waitU = userBucket.WaitFor(now, settings);
                if (waitA > TimeSpan.Zero || waitU > TimeSpan.Zero)
                {
                    return waitA > waitU ? waitA : waitU;
                }

                addressBucket.Take();
                userBucket.Take();
                return null;
            }
        }
    }

    private Bucket? Get(string key, AdminOptions settings)
    {
        if (_buckets.TryGetValue(key, out var bucket))
        {
            return bucket;
        }

        return _buckets.Count >= MaxTrackedKeys ? null : _buckets.GetOrAdd(key, _ => new Bucket(settings.SignInAttemptsPerWindow, timeProvider.GetUtcNow()));
    }

    private void Prune(DateTimeOffset now, AdminOptions settings)
    {
        foreach (var (key, bucket) in _buckets)
        {
            lock (bucket)
            {
                if (bucket.IsFull(now, settings))
                {
                    _buckets.TryRemove(key, out _);
                }
            }
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

    private sealed class Bucket(int capacity, DateTimeOffset since)
    {
        private double _tokens = capacity;
        private DateTimeOffset _since = since;

        public TimeSpan WaitFor(DateTimeOffset now, AdminOptions settings)
        {
            Refill(now, settings);
            return _tokens >= 1 ? TimeSpan.Zero : (1 - _tokens) * Interval(settings);
        }

        public void Take() => _tokens -= 1;

        public bool IsFull(DateTimeOffset now, AdminOptions settings)
        {
            Refill(now, settings);
            return _tokens >= settings.SignInAttemptsPerWindow;
        }

        private void Refill(DateTimeOffset now, AdminOptions settings)
        {
            var elapsed = now - _since;
            if (elapsed > TimeSpan.Zero)
            {
                _tokens = Math.Min(settings.SignInAttemptsPerWindow, _tokens + (elapsed / Interval(settings)));
                _since = now;
            }
        }

        private static TimeSpan Interval(AdminOptions settings) => settings.SignInWindow / settings.SignInAttemptsPerWindow;
    }
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
