using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests.Jobs;

/// <summary>What Hangfire cannot run is refused at start-up: exit code 78, one line naming the setting, never its value.</summary>
public sealed class JobsStartupTests
{
    [Theory]
    [InlineData("SecureImage:Retention:SweepInterval", "00:00:00.437", "SecureImage:Retention:SweepInterval must be 1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30 seconds")]
    [InlineData("SecureImage:Retention:SweepInterval", "00:01:37", "SecureImage:Retention:SweepInterval must be 1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30 seconds")]
    [InlineData("SecureImage:Retention:ReconcileInterval", "3.00:00:00", "SecureImage:Retention:ReconcileInterval must be 1, 2, 3")]
    [InlineData("SecureImage:Jobs:SchedulePollingInterval", "00:01:37", "SecureImage:Jobs:SchedulePollingInterval must not be longer than the shortest of SecureImage:Retention:SweepInterval")]
    [InlineData("SecureImage:Jobs:Schema", "jobs;drop_q7", "SecureImage:Jobs:Schema is invalid")]
    [InlineData("SecureImage:Jobs:DistributedLockTimeout", "00:00:03.370", "SecureImage:Jobs:DistributedLockTimeout must be at least 5 seconds")]
    [InlineData("SecureImage:Jobs:SchedulePollingInterval", "-00:00:07.310", "SecureImage:Jobs:SchedulePollingInterval must be positive")]
    [InlineData("SecureImage:Jobs:QueuePollInterval", "00:00:00.037", "SecureImage:Jobs:QueuePollInterval must be at least 50 milliseconds")]
    [InlineData("SecureImage:Jobs:InvisibilityTimeout", "00:00:29.370", "SecureImage:Jobs:InvisibilityTimeout must be at least 30 seconds")]
    public async Task A_job_setting_that_cannot_work_is_refused_naming_the_setting_not_the_value(string key, string value, string message)
    {
        using var factory = new SecureImageFactory("Testing", settings: new Dictionary<string, string?> { [key] = value });

        var output = await factory.AssertRefusesToStartAsync();

        Assert.Contains("SecureImage refused to start: " + message, output, StringComparison.Ordinal);
        Assert.DoesNotContain(value, output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_short_sweep_interval_brings_the_scheduler_polling_down_with_it_unless_it_is_set()
    {
        var retention = new Configuration.RetentionOptions { SweepInterval = TimeSpan.FromSeconds(2) };

        Assert.Equal(TimeSpan.FromSeconds(2), new Api.Jobs.JobsOptions().EffectiveSchedulePollingInterval(retention));
        Assert.Equal(TimeSpan.FromSeconds(15), new Api.Jobs.JobsOptions().EffectiveSchedulePollingInterval(new Configuration.RetentionOptions()));
        Assert.Equal(TimeSpan.FromSeconds(1), new Api.Jobs.JobsOptions { SchedulePollingInterval = TimeSpan.FromSeconds(1) }.EffectiveSchedulePollingInterval(retention));
        Assert.Equal(TimeSpan.FromMilliseconds(300), new Api.Jobs.JobsOptions { QueuePollInterval = TimeSpan.FromMilliseconds(300) }.EffectiveQueuePollInterval(retention));
        Assert.Equal(TimeSpan.FromSeconds(2), new Api.Jobs.JobsOptions().EffectiveQueuePollInterval(retention));
    }
}
