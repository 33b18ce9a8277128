using SecureImage.Core.Retention;

namespace SecureImage.Api.Jobs;

/// <summary>
/// Counts the client requests in flight (everything under /v1 and the Kakao skill; not the dashboard, health or
/// metrics), so the retention sweep can give the blob store to them first (<see cref="RetentionSweeper"/>).
/// </summary>
internal sealed class RequestActivity : IRequestActivity
{
    private int _inFlight;

    public int RequestsInFlight => Volatile.Read(ref _inFlight);

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
