using SecureImage.Core.Retention;

namespace SecureImage.Api.Jobs;

/// <summary>
/// Counts the client requests in flight (everything under /v1 and the Kakao skill; not the dashboard, health or
/// metrics), so the retention sweep can give the blob store to them first (<see cref="RetentionSweeper"/>).
/// </summary>
internal sealed class RequestActivity(TimeProvider timeProvider) : IRequestActivity
{
    private const long NoneYet = long.MinValue;
    private int _inFlight;
    private long _lastEnded = NoneYet;

    public int RequestsInFlight => Volatile.Read(ref _inFlight);

    public long? LastRequestEndedAt => Interlocked.Read(ref _lastEnded) is var ended && ended != NoneYet ? ended : null;

    public static bool Counts(PathString path) =>
        path.StartsWithSegments("/v1", StringComparison.OrdinalIgnoreCase) || path.StartsWithSegments("/kakao", StringComparison.OrdinalIgnoreCase);

    public async Task TrackAsync(HttpContext context, RequestDelegate next)
    {
        if (!Counts(context.Request.Path))
        {
            await next(context);
            return;
        }

        Interlocked.Increment(ref _inFlight);
        try
        {
            await next(context);
        }
        finally
        {
            // The end first, then the count: whoever sees nothing in flight also sees when it ended.
            Interlocked.Exchange(ref _lastEnded, timeProvider.GetTimestamp());
            Interlocked.Decrement(ref _inFlight);
        }
    }
}

internal static class RequestActivityExtensions
{
    public static IApplicationBuilder UseRequestActivity(this IApplicationBuilder app)
    {
        var activity = app.ApplicationServices.GetRequiredService<RequestActivity>();
        return app.Use((context, next) => activity.TrackAsync(context, next));
    }
}
