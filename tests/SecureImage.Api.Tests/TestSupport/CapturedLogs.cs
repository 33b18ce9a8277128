using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace SecureImage.Api.Tests.TestSupport;

/// <summary>One log entry as written: level, category, the formatted message and the exception's text, if any.</summary>
public sealed record CapturedLog(LogLevel Level, string Category, string Message, string? Exception);

/// <summary>
/// A logger provider that keeps every entry of one in-memory host, so a test can check levels and that
/// no personal data (keys, URLs, tokens, bodies) reaches a log. Add it with
/// <c>services.AddSingleton&lt;ILoggerProvider&gt;(logs)</c>.
/// </summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<CapturedLog> _entries = new();

    public IReadOnlyList<CapturedLog> Entries => [.. _entries];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    /// <summary>Fails when any entry (message or exception) contains one of <paramref name="secrets"/>.</summary>
    public void AssertNoneContain(params string[] secrets)
    {
        foreach (var entry in Entries)
        {
            foreach (var secret in secrets)
            {
                Assert.False(
                    entry.Message.Contains(secret, StringComparison.Ordinal) || (entry.Exception?.Contains(secret, StringComparison.Ordinal) ?? false),
                    $"A {entry.Level} log of {entry.Category} contains a secret: {entry.Message}");
            }
        }
    }

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._entries.Enqueue(new CapturedLog(logLevel, category, formatter(state, exception), exception?.ToString()));
    }
}
