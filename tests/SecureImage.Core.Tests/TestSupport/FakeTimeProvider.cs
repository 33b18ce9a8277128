namespace SecureImage.Core.Tests.TestSupport;

/// <summary>A clock that stands still until a test moves it.</summary>
internal sealed class FakeTimeProvider(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}
