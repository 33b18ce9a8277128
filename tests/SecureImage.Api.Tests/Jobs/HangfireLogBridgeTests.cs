using Hangfire.Logging;
using Microsoft.Extensions.Logging;
using SecureImage.Api.Jobs;
using SecureImage.Api.Tests.TestSupport;
using SecureImage.Core.Diagnostics;
using HangfireLevel = Hangfire.Logging.LogLevel;

namespace SecureImage.Api.Tests.Jobs;

/// <summary>A bridge of the test's own (never Hangfire's process-wide one, which the test hosts share).</summary>
public sealed class HangfireLogBridgeTests
{
    private const string Secret = "Host=db.internal;Password=hunter3-q7";

    [Fact]
    public void Hangfire_entries_reach_the_host_log_at_their_level_with_exceptions_reduced_to_type_and_stack()
    {
        var bridge = new HangfireLogBridge();
        var logs = new CapturedLogs();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Trace));
        using var attachment = bridge.Add(factory);
        var log = bridge.GetLogger("Hangfire.Server.Worker");

        Assert.True(log.Log(HangfireLevel.Warn, () => "Failed to process the job '42': an exception occurred.", Thrown(new InvalidOperationException(Secret))));
        Assert.True(log.Log(HangfireLevel.Info, () => "Server announced."));

        var warning = Assert.Single(logs.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning);
        Assert.Equal(("Hangfire.Server.Worker", "Failed to process the job '42': an exception occurred."), (warning.Category, warning.Message));
        var redacted = Assert.IsType<RedactedException>(warning.Exception);
        Assert.Equal(typeof(InvalidOperationException).FullName, redacted.OriginalType);
        Assert.Contains(nameof(Thrown), redacted.StackTrace, StringComparison.Ordinal);
        Assert.Single(logs.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Information);
        logs.AssertNoneContain("hunter3-q7", "db.internal");
    }

    [Fact]
    public void The_host_log_filters_apply_to_Hangfire_entries()
    {
        var bridge = new HangfireLogBridge();
        var logs = new CapturedLogs();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Warning));
        using var attachment = bridge.Add(factory);
        var log = bridge.GetLogger("Hangfire.Server.RecurringJobScheduler");

        Assert.False(log.Log(HangfireLevel.Debug, null));
        Assert.True(log.Log(HangfireLevel.Error, null));
        Assert.False(log.Log(HangfireLevel.Debug, () => "2 recurring job(s) processed by scheduler."));

        Assert.Empty(logs.Entries);
    }

    [Fact]
    public void With_no_host_or_several_hosts_attached_nothing_is_written()
    {
        var bridge = new HangfireLogBridge();
        var first = new CapturedLogs();
        var second = new CapturedLogs();
        using var firstFactory = LoggerFactory.Create(b => b.AddProvider(first));
        using var secondFactory = LoggerFactory.Create(b => b.AddProvider(second));
        var log = bridge.GetLogger("Hangfire.BackgroundJobServer");

        Assert.False(log.Log(HangfireLevel.Error, () => "none attached"));
        using (bridge.Add(firstFactory))
        using (bridge.Add(secondFactory))
        {
            Assert.False(log.Log(HangfireLevel.Error, () => "two attached"));
        }

        using (bridge.Add(secondFactory))
        {
            Assert.True(log.Log(HangfireLevel.Error, () => "one attached"));
        }

        Assert.Empty(first.Entries);
        Assert.Equal("one attached", Assert.Single(second.Entries).Message);
    }

    private static Exception Thrown(Exception exception)
    {
        try
        {
            throw exception;
        }
        catch (Exception caught)
        {
            return caught;
        }
    }
}
