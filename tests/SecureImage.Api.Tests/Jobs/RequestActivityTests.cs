using Microsoft.AspNetCore.Http;
using SecureImage.Api.Jobs;
using SecureImage.Core.Retention;

namespace SecureImage.Api.Tests.Jobs;

public sealed class RequestActivityTests
{
    [Theory]
    [InlineData("/v1/images", 1)]
    [InlineData("/v1/downloads/abc", 1)]
    [InlineData("/V1/images", 1)]
    [InlineData("/kakao/skill", 1)]
    [InlineData("/admin/api/summary", 0)]
    [InlineData("/admin/jobs", 0)]
    [InlineData("/health/ready", 0)]
    [InlineData("/v1x", 0)]
    public async Task A_client_request_counts_as_in_flight_while_it_runs_and_the_dashboard_does_not(string path, int whileRunning)
    {
        var activity = new RequestActivity(TimeProvider.System);
        var seen = -1;
        var context = new DefaultHttpContext { Request = { Path = path } };

        await activity.TrackAsync(context, _ =>
        {
            seen = activity.RequestsInFlight;
            return Task.CompletedTask;
        });

        Assert.Equal(whileRunning, seen);
        Assert.Equal(0, activity.RequestsInFlight);
    }

    [Fact]
    public async Task It_records_when_the_last_client_request_ended_and_not_when_a_dashboard_request_did()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var activity = new RequestActivity(clock);
        Assert.Null(activity.LastRequestEndedAt);

        await activity.TrackAsync(new DefaultHttpContext { Request = { Path = "/v1/images" } }, _ => Task.CompletedTask);
        var ended = clock.GetTimestamp();
        Assert.Equal(ended, activity.LastRequestEndedAt);

        clock.Advance(TimeSpan.FromSeconds(5));
        await activity.TrackAsync(new DefaultHttpContext { Request = { Path = "/admin/api/summary" } }, _ => Task.CompletedTask);
        Assert.Equal(ended, activity.LastRequestEndedAt);
        Assert.True(activity.IsQuietFor(clock, TimeSpan.FromSeconds(5)));
        Assert.False(activity.IsQuietFor(clock, TimeSpan.FromSeconds(6)));
    }

    [Fact]
    public async Task A_request_that_fails_or_is_aborted_stops_counting()
    {
        var activity = new RequestActivity(TimeProvider.System);
        var context = new DefaultHttpContext { Request = { Path = "/v1/images" } };

        await Assert.ThrowsAsync<OperationCanceledException>(() => activity.TrackAsync(context, _ => throw new OperationCanceledException()));

        Assert.Equal(0, activity.RequestsInFlight);
    }

    [Fact]
    public async Task Concurrent_requests_are_each_counted()
    {
        var activity = new RequestActivity(TimeProvider.System);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = Enumerable.Range(0, 8)
            .Select(_ => activity.TrackAsync(new DefaultHttpContext { Request = { Path = "/v1/images" } }, _ => release.Task))
            .ToArray();

        Assert.Equal(8, activity.RequestsInFlight);
        release.SetResult();
        await Task.WhenAll(running);
        Assert.Equal(0, activity.RequestsInFlight);
    }
}
