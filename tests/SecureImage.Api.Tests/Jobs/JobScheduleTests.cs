using Hangfire;
using Hangfire.Common;
using Hangfire.InMemory;
using Hangfire.Storage;
using SecureImage.Api.Jobs;

namespace SecureImage.Api.Tests.Jobs;

public sealed class JobScheduleTests
{
    [Theory]
    [InlineData("00:00:01", "* * * * * *")]
    [InlineData("00:00:05", "*/5 * * * * *")]
    [InlineData("00:00:30", "*/30 * * * * *")]
    [InlineData("00:01:00", "* * * * *")]
    [InlineData("00:15:00", "*/15 * * * *")]
    [InlineData("01:00:00", "0 * * * *")]
    [InlineData("06:00:00", "0 */6 * * *")]
    [InlineData("1.00:00:00", "0 0 * * *")]
    public void An_interval_that_divides_the_next_unit_evenly_has_a_cron(string interval, string cron)
    {
        Assert.Equal(cron, JobSchedule.CronFor(TimeSpan.Parse(interval, System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("-00:00:01")]
    [InlineData("00:00:00.500")]
    [InlineData("00:00:01.500")]
    [InlineData("00:00:07")]
    [InlineData("00:00:45")]
    [InlineData("00:01:30")]
    [InlineData("00:07:00")]
    [InlineData("00:59:00")]
    [InlineData("05:00:00")]
    [InlineData("1.12:00:00")]
    [InlineData("2.00:00:00")]
    public void An_interval_without_an_even_cron_has_none(string interval)
    {
        Assert.Null(JobSchedule.CronFor(TimeSpan.Parse(interval, System.Globalization.CultureInfo.InvariantCulture)));
    }

    /// <summary>Every interval a cron exists for: Hangfire takes the cron, and its next occurrence lies on the interval's grid (UTC).</summary>
    [Fact]
    public void Hangfire_schedules_each_cron_on_its_interval()
    {
        using var storage = new InMemoryStorage(new InMemoryStorageOptions());
        var manager = new RecurringJobManager(storage, new JobFilterCollection());
        var intervals = Enumerable.Range(1, 86_400).Select(s => TimeSpan.FromSeconds(s)).Where(i => JobSchedule.CronFor(i) is not null).ToList();

        foreach (var interval in intervals)
        {
            manager.AddOrUpdate($"every-{interval.TotalSeconds}", Job.FromExpression(() => Console.WriteLine()), JobSchedule.CronFor(interval)!, new RecurringJobOptions());
        }

        using var connection = storage.GetConnection();
        var jobs = connection.GetRecurringJobs();
        Assert.Equal(11 + 11 + 7 + 1, intervals.Count);
        foreach (var interval in intervals)
        {
            var next = Assert.Single(jobs, j => j.Id == $"every-{interval.TotalSeconds}").NextExecution;
            Assert.NotNull(next);
            Assert.Equal(0, (next.Value - DateTime.UnixEpoch).Ticks % interval.Ticks);
            Assert.True(next.Value - DateTime.UtcNow <= interval, $"{interval}: next {next} is more than one interval away");
        }
    }
}
