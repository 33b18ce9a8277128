using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SecureImage.Api.Security;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests.Admin;

/// <summary>Password sign-in throttling per client address and per user name, the bound on PBKDF2 work, and what failures leave behind.</summary>
public sealed class SignInThrottlingTests
{
    [Fact]
    public async Task Wrong_passwords_past_the_limit_answer_429_with_retry_after_and_the_right_password_works_after_the_window()
    {
        using var factory = Throttled(attempts: 3);
        var client = factory.CreateCookieClient();

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostSignInAsync(AdminSession.Officer, "wrong " + i)).StatusCode);
        }

        var throttled = await client.PostSignInAsync(AdminSession.Officer, AdminSession.OfficerPassword);
        await throttled.AssertProblemAsync(HttpStatusCode.TooManyRequests, "too-many-sign-in-attempts");
        var retryAfter = int.Parse(throttled.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 60);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/admin/api/overview")).StatusCode);

        // Just before the next token: still refused. After the window: the right password gets in.
        factory.Time.Advance(TimeSpan.FromSeconds(retryAfter - 1));
        Assert.Equal(HttpStatusCode.TooManyRequests, (await client.PostSignInAsync(AdminSession.Officer, AdminSession.OfficerPassword)).StatusCode);
        factory.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(HttpStatusCode.Redirect, (await client.PostSignInAsync(AdminSession.Officer, AdminSession.OfficerPassword)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/admin/api/overview")).StatusCode);
    }

    [Fact]
    public async Task One_address_guessing_many_user_names_is_throttled_and_other_addresses_are_not()
    {
        using var factory = Throttled(attempts: 2);
        var attacker = factory.CreateCookieClient();
        attacker.DefaultRequestHeaders.Add(ClientAddressFromHeader.Header, "203.0.113.7");
        var officer = factory.CreateCookieClient();
        officer.DefaultRequestHeaders.Add(ClientAddressFromHeader.Header, "198.51.100.20");

        Assert.Equal(HttpStatusCode.Unauthorized, (await attacker.PostSignInAsync("alice", "guess")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await attacker.PostSignInAsync("bob", "guess")).StatusCode);
        await (await attacker.PostSignInAsync("carol", "guess")).AssertProblemAsync(HttpStatusCode.TooManyRequests, "too-many-sign-in-attempts");

        Assert.Equal(HttpStatusCode.Redirect, (await officer.PostSignInAsync(AdminSession.Officer, AdminSession.OfficerPassword)).StatusCode);
    }

    [Fact]
    public async Task Many_addresses_guessing_one_user_name_are_throttled_by_the_user_name()
    {
        using var factory = Throttled(attempts: 2);
        var answers = new List<HttpStatusCode>();
        for (var i = 1; i <= 3; i++)
        {
            var client = factory.CreateCookieClient();
            client.DefaultRequestHeaders.Add(ClientAddressFromHeader.Header, $"2001:db8:{i}::1");
            answers.Add((await client.PostSignInAsync(AdminSession.Officer, "guess")).StatusCode);
        }

        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests], answers);
    }

    [Fact]
    public void When_the_key_table_is_full_a_new_client_still_gets_its_attempts_and_the_most_recent_buckets_are_kept()
    {
        var throttle = new SignInThrottle(new ManualTimeProvider(), Options.Create(new AdminOptions { SignInAttemptsPerWindow = 1 }));
        var last = Fill(throttle);
        Assert.NotNull(throttle.TryAcquire(last, "someone-else"));

        // Nobody seen before, the clock not moved: no bucket in the table has refilled, yet the new client is let in.
        Assert.Null(throttle.TryAcquire(IPAddress.Parse("198.51.100.1"), AdminSession.Officer));
        Assert.NotNull(throttle.TryAcquire(IPAddress.Parse("198.51.100.1"), "another"));

        // Room is made by forgetting the oldest buckets, never the latest.
        Assert.NotNull(throttle.TryAcquire(last, "yet-another"));
        Assert.Null(throttle.TryAcquire(Address(0), "first-again"));
    }

    [Fact]
    public void Twenty_thousand_new_clients_at_a_full_key_table_are_all_admitted_and_the_table_stays_bounded()
    {
        var throttle = new SignInThrottle(new ManualTimeProvider(), Options.Create(new AdminOptions { SignInAttemptsPerWindow = 1 }));
        Fill(throttle);

        // (Each attempt is O(1): the run takes well under a second; the former scan per attempt took minutes. Measured, not asserted.)
        for (var i = 0; i < 20_000; i++)
        {
            Assert.Null(throttle.TryAcquire(Address(SignInThrottle.MaxTrackedKeys + i), $"new-{i}"));
        }

        Assert.InRange(throttle.TrackedKeys, 1, SignInThrottle.MaxTrackedKeys);
    }

    [Fact]
    public void A_bucket_is_forgotten_once_it_has_refilled()
    {
        var time = new ManualTimeProvider();
        var throttle = new SignInThrottle(time, Options.Create(new AdminOptions { SignInAttemptsPerWindow = 5, SignInWindow = TimeSpan.FromMinutes(1) }));
        for (var i = 0; i < 1000; i++)
        {
            Assert.Null(throttle.TryAcquire(Address(i), $"user-{i}"));
        }

        Assert.Equal(2000, throttle.TrackedKeys);

        time.Advance(TimeSpan.FromSeconds(59));
        Assert.Null(throttle.TryAcquire(IPAddress.Parse("198.51.100.2"), "officer"));
        Assert.Equal(2002, throttle.TrackedKeys);

        // A window after its last attempt every bucket is full again, as good as unknown: it leaves the table.
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(throttle.TryAcquire(IPAddress.Parse("198.51.100.3"), "officer2"));
        Assert.Equal(4, throttle.TrackedKeys);
    }

    /// <summary>Fills the table (one attempt per address for its own user name: two keys each); returns the last address.</summary>
    private static IPAddress Fill(SignInThrottle throttle)
    {
        for (var i = 0; i < SignInThrottle.MaxTrackedKeys / 2; i++)
        {
            Assert.Null(throttle.TryAcquire(Address(i), $"user-{i}"));
        }

        return Address((SignInThrottle.MaxTrackedKeys / 2) - 1);
    }

    private static IPAddress Address(int i) => new([10, (byte)(i >> 16), (byte)(i >> 8), (byte)i]);

    [Fact]
    public async Task A_failed_sign_in_is_counted_and_logged_without_the_user_name_or_the_password()
    {
        using var factory = Throttled(attempts: 1);
        var failures = new List<string?>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "secureimage.admin.sign_in_failures")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                lock (failures)
                {
                    failures.Add(tag.Value as string);
                }
            }
        });
        listener.Start();
        var client = factory.CreateCookieClient();

        await client.PostSignInAsync("mallory-guesses", "hunter2-secret");
        await client.PostSignInAsync("mallory-guesses", "hunter3-secret");

        lock (failures)
        {
            Assert.Contains("credentials", failures);
            Assert.Contains("throttled", failures);
        }

        var logged = string.Join('\n', factory.Logs.AtLeast(LogLevel.Trace).Select(l => l.ToString()));
        Assert.Contains("A dashboard sign-in failed.", logged, StringComparison.Ordinal);
        Assert.Contains("A dashboard sign-in was throttled.", logged, StringComparison.Ordinal);
        Assert.DoesNotContain("mallory", logged, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("hunter", logged, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_password_check_gate_runs_at_most_its_bound_at_once_and_refuses_beyond_its_queue()
    {
        using var gate = new PasswordCheckGate(Options.Create(new AdminOptions { MaxConcurrentPasswordChecks = 1, MaxQueuedPasswordChecks = 1 }));
        using var release = new ManualResetEventSlim();
        using var entered = new SemaphoreSlim(0);
        var running = 0;
        var most = 0;
        bool Check()
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref most, now);
            entered.Release();
            release.Wait(TimeSpan.FromMinutes(1));
            Interlocked.Decrement(ref running);
            return true;
        }

        var first = Task.Run(() => gate.RunAsync(Check, CancellationToken.None));
        Assert.True(await entered.WaitAsync(TimeSpan.FromMinutes(1)));
        var queued = Task.Run(() => gate.RunAsync(Check, CancellationToken.None));
        while (gate.Admitted < 2)
        {
            await Task.Delay(1);
        }

        var refused = await gate.RunAsync(Check, CancellationToken.None);
        release.Set();

        Assert.Null(refused);
        Assert.True(await first);
        Assert.True(await queued);
        Assert.Equal(1, most);
    }

    [Fact]
    public async Task A_password_check_runs_on_a_thread_at_the_lowest_cpu_priority()
    {
        Assert.True(OperatingSystem.IsLinux(), "The service runs on Linux (its container); this checks the thread's nice value there.");
        using var gate = new PasswordCheckGate(Options.Create(new AdminOptions()));
        var nice = "";

        var ran = await gate.RunAsync(() =>
        {
            // /proc/thread-self/stat: after "(comm) ", the 17th field is the thread's nice value.
            var stat = File.ReadAllText("/proc/thread-self/stat");
            nice = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[16];
            return true;
        }, CancellationToken.None);

        Assert.True(ran);
        Assert.Equal("19", nice);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    private static SecureImageFactory Throttled(int attempts)
    {
        var settings = AdminSession.OfficerSettings();
        settings["SecureImage:Admin:SignInAttemptsPerWindow"] = attempts.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["SecureImage:Admin:SignInWindow"] = "00:01:00";
        return new SecureImageFactory("Testing", settings, services: ClientAddressFromHeader.AddTo);
    }
}
