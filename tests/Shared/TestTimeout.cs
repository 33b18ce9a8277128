namespace SecureImage.Tests.Shared;

/// <summary>Bounds every call a test makes, so a hanging server fails the test instead of the run.</summary>
internal static class TestTimeout
{
    public static CancellationToken After(TimeSpan limit) => new CancellationTokenSource(limit).Token;

    public static CancellationToken OneMinute => After(TimeSpan.FromMinutes(1));
}
