using Microsoft.AspNetCore.Http;
using SecureImage.Api.Jobs;

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
        var activity = new RequestActivity();
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
    public async Task A_request_that_fails_or_is_aborted_stops_counting()
    {
        var activity = new RequestActivity();
        var context = new DefaultHttpContext { Request = { Path = "/v1/images" } };

        await Assert.ThrowsAsync<OperationCanceledException>(() => activity.TrackAsync(context, _ => throw new OperationCanceledException()));

        Assert.Equal(0, activity.RequestsInFlight);
    }

    [Fact]
    public async Task Concurrent_requests_are_each_counted()
    {
        var activity = new RequestActivity();
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
