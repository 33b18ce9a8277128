using System.Collections.Immutable;
using Hangfire.Logging;
using SecureImage.Core.Diagnostics;
using HangfireLevel = Hangfire.Logging.LogLevel;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace SecureImage.Api.Jobs;

/// <summary>
/// Hangfire's log (a process-wide static in Hangfire) into the host's <see cref="ILoggerFactory"/>, so the
/// service's log rules and providers apply. Hangfire's messages carry job, server and lock ids, never job
/// arguments (ours have none); the exceptions it logs keep their type and stack trace only
/// (<see cref="RedactedException"/>), since a driver's message can name a host or quote a value.
/// With several hosts in one process (only tests do that) nothing can tell whose entry one is, so the
/// bridge writes only while exactly one host is attached.
/// </summary>
internal sealed class HangfireLogBridge : ILogProvider
{
    private static readonly HangfireLogBridge Shared = new();
    private readonly Lock _gate = new();
    private ImmutableList<ILoggerFactory> _attached = [];

    /// <summary>Routes Hangfire's log to <paramref name="loggerFactory"/> until the result is disposed.</summary>
    public static IDisposable Attach(ILoggerFactory loggerFactory)
    {
        LogProvider.SetCurrentLogProvider(Shared);
        return Shared.Add(loggerFactory);
    }

    /// <summary>Adds a host's factory to this bridge (tests use a bridge of their own, not Hangfire's).</summary>
    public IDisposable Add(ILoggerFactory loggerFactory)
    {
        lock (_gate)
        {
            _attached = _attached.Add(loggerFactory);
        }

        return new Attachment(this, loggerFactory);
    }

    public ILog GetLogger(string name) => new CategoryLog(this, name);

    internal static LogLevel ToLogLevel(HangfireLevel level) => level switch
    {
        HangfireLevel.Trace => LogLevel.Trace,
        HangfireLevel.Debug => LogLevel.Debug,
        HangfireLevel.Info => LogLevel.Information,
        HangfireLevel.Warn => LogLevel.Warning,
        HangfireLevel.Error => LogLevel.Error,
        HangfireLevel.Fatal => LogLevel.Critical,
        _ => LogLevel.None,
    };

    private void Remove(ILoggerFactory loggerFactory)
    {
        lock (_gate)
        {
            _attached = _attached.Remove(loggerFactory);
        }
    }

    private sealed class CategoryLog(HangfireLogBridge bridge, string category) : ILog
    {
        public bool Log(HangfireLevel logLevel, Func<string>? messageFunc, Exception? exception = null)
        {
            var attached = Volatile.Read(ref bridge._attached);
            if (attached.Count != 1)
            {
                return false;
            }

            ILogger logger;
            try
            {
                logger = attached[0].CreateLogger(category);
            }
            catch (ObjectDisposedException)
            {
                // The host is shutting down; its factory is gone.
                return false;
            }

            var level = ToLogLevel(logLevel);
            if (messageFunc is null || !logger.IsEnabled(level))
            {
                // Without a message Hangfire only asks whether the level is on.
                return messageFunc is null && logger.IsEnabled(level);
            }

            logger.Log(level, default, messageFunc(), exception is null ? null : RedactedException.From(exception), static (message, _) => message);
            return true;
        }
    }

    private sealed class Attachment(HangfireLogBridge bridge, ILoggerFactory loggerFactory) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                bridge.Remove(loggerFactory);
            }
        }
    }
}
