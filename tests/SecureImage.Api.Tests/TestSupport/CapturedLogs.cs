using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace SecureImage.Api.Tests.TestSupport;

/// <summary>One log entry as the service wrote it: the formatted message and the exception, if any.</summary>
public sealed record CapturedLog(string Category, LogLevel Level, string Message, Exception? Exception)
{
    public override string ToString() => $"{Level} {Category}: {Message}{(Exception is null ? "" : " | " + Exception)}";
}

/// <summary>A logger provider that keeps every entry of the host it is added to, so tests can check levels and contents.</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<CapturedLog> _entries = new();

    public IReadOnlyList<CapturedLog> Entries => [.. _entries];

    /// <summary>Entries at <paramref name="level"/> or above.</summary>
    public IReadOnlyList<CapturedLog> AtLeast(LogLevel level) => [.. _entries.Where(e => e.Level >= level)];

    /// <summary>Entries whose message or exception text contains <paramref name="text"/> (ordinal, ignoring case).</summary>
    public IReadOnlyList<CapturedLog> Containing(string text) =>
        [.. _entries.Where(e => e.Message.Contains(text, StringComparison.OrdinalIgnoreCase) || (e.Exception?.ToString().Contains(text, StringComparison.OrdinalIgnoreCase) ?? false))];

    /// <summary>Fails when any entry (message or exception text) contains one of <paramref name="secrets"/>.</summary>
    public void AssertNoneContain(params string[] secrets)
    {
        foreach (var secret in secrets)
        {
            var found = _entries.FirstOrDefault(e => e.Message.Contains(secret, StringComparison.Ordinal) || (e.Exception?.ToString().Contains(secret, StringComparison.Ordinal) ?? false));
            Assert.True(found is null, $"A {found?.Level} log of {found?.Category} contains a secret: {found?.Message}");
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _entries);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<CapturedLog> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            entries.Enqueue(new CapturedLog(category, logLevel, formatter(state, exception), exception));
    }
}
