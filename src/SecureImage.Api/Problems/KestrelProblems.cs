using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Connections;

namespace SecureImage.Api.Problems;

/// <summary>
/// Kestrel refuses requests it cannot parse (a malformed request line or header, a bad Host, a target over 8 KiB:
/// 414, headers over 32 KiB: 431, an unknown HTTP version: 505, headers that do not arrive in time: 408) itself,
/// before any middleware runs, with an empty body — and offers no hook to change that answer. So a connection
/// middleware watches what Kestrel writes: bytes written while no request of the connection is in the application
/// can only be Kestrel's own answer, and if they are exactly such an empty error answer (one HTTP/1.1 head, status
/// 4xx or 5xx, <c>Content-Length: 0</c>, <c>Connection: close</c>), they are replaced by the same status with the
/// service's problem+json. Everything else passes through untouched; HTTP/2 and TLS bytes are never changed.
/// </summary>
internal static class KestrelProblems
{
    public static WebApplicationBuilder AddKestrelProblems(this WebApplicationBuilder builder)
    {
        // Runs for every endpoint Kestrel binds (urls, configuration, Listen*); it is the only endpoint default the service sets.
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen => listen.Use(next => connection => OnConnectionAsync(connection, next))));
        builder.Services.AddTransient<IStartupFilter, MarkResponsesInFlight>();
        return builder;
    }

    private static async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var transport = connection.Transport;
        var responses = new ResponsesInFlight();
        connection.Features.Set(responses);
        connection.Transport = new DuplexPipe(transport.Input, new EmptyErrorRewritingWriter(transport.Output, responses));
        try
        {
            await next(connection);
        }
        finally
        {
            connection.Transport = transport;
        }
    }

    /// <summary>
    /// The answer that replaces Kestrel's empty error answer <paramref name="written"/>, or null when the bytes are anything else.
    /// The status line and headers (Date, Server, Connection, Allow) are kept; the body is the problem for the status.
    /// </summary>
    internal static byte[]? TryRewrite(ReadOnlySpan<byte> written)
    {
        var headEnd = written.IndexOf("\r\n\r\n"u8);
        if (headEnd < 0 || headEnd + 4 != written.Length || !written.StartsWith("HTTP/1.1 "u8))
        {
            return null;
        }

        var lines = Encoding.Latin1.GetString(written[..headEnd]).Split("\r\n");
        if (lines[0].Length < 12 || !int.TryParse(lines[0].AsSpan(9, 3), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var status)
            || status is < 400 or > 599)
        {
            return null;
        }

        var (emptyBody, closes) = (false, false);
        var kept = new StringBuilder(lines[0]).Append("\r\n");
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var (name, value) = colon < 0 ? (line, "") : (line[..colon], line[(colon + 1)..].Trim());
            if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase) || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }

            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                emptyBody = value == "0";
                continue;
            }

            closes |= name.Equals("Connection", StringComparison.OrdinalIgnoreCase) && value.Equals("close", StringComparison.OrdinalIgnoreCase);
            kept.Append(line).Append("\r\n");
        }

        if (!emptyBody || !closes)
        {
            return null;
        }

        var body = ProblemJson(status, lines[0][12..].Trim());
        kept.Append("Content-Type: application/problem+json\r\n")
            .Append(System.Globalization.CultureInfo.InvariantCulture, $"Content-Length: {body.Length}\r\n")
            .Append("Cache-Control: no-store\r\n\r\n");
        return [.. Encoding.Latin1.GetBytes(kept.ToString()), .. body];
    }

    private static byte[] ProblemJson(int status, string reasonPhrase)
    {
        var (type, detail) = FrameworkProblems.ForStatus(status);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("type", type);
            json.WriteString("title", reasonPhrase);
            json.WriteNumber("status", status);
            json.WriteString("detail", detail);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>How many requests of one connection are in the application, from its first middleware until its response has completed.</summary>
    private sealed class ResponsesInFlight
    {
        private int _count;

        public bool None => Volatile.Read(ref _count) == 0;

        public void Started() => Interlocked.Increment(ref _count);

        public void Completed() => Interlocked.Decrement(ref _count);
    }

    /// <summary>
    /// The outermost middleware (a startup filter runs before everything the application adds) marks each request in
    /// flight until Kestrel has written all of its response (OnCompleted runs after that); under the test server, which
    /// has no connection middleware, it does nothing.
    /// </summary>
    private sealed class MarkResponsesInFlight : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(static (context, nextMiddleware) =>
            {
                if (context.Features.Get<ResponsesInFlight>() is { } responses)
                {
                    responses.Started();
                    context.Response.OnCompleted(static state =>
                    {
                        ((ResponsesInFlight)state).Completed();
                        return Task.CompletedTask;
                    }, responses);
                }

                return nextMiddleware(context);
            });
            next(app);
        };
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    /// <summary>
    /// The transport's writer, except that bytes written while no response is in flight are held until the next flush
    /// and then passed on either as they are or, when they are Kestrel's empty error answer, as its problem+json form.
    /// Once held bytes are not HTTP/1.x (an HTTP/2 preface, TLS records), the writer only passes bytes on.
    /// </summary>
    private sealed class EmptyErrorRewritingWriter(PipeWriter inner, ResponsesInFlight responses) : PipeWriter
    {
        // Kestrel's empty answers are under 200 bytes; anything longer is not one of them.
        private const int MaxHeldBytes = 2048;
        private readonly ArrayBufferWriter<byte> _held = new(256);
        private bool _holding;
        private bool _notUntilFlush;
        private bool _passThrough;

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes + _held.WrittenCount;

        public override Memory<byte> GetMemory(int sizeHint = 0) => Hold(sizeHint) ? _held.GetMemory(sizeHint) : inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => Hold(sizeHint) ? _held.GetSpan(sizeHint) : inner.GetSpan(sizeHint);

        public override void Advance(int bytes)
        {
            if (!_holding)
            {
                inner.Advance(bytes);
                return;
            }

            _held.Advance(bytes);
            if (_held.WrittenCount > MaxHeldBytes)
            {
                Release(rewrite: false);
                _notUntilFlush = true;
            }
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            Release(rewrite: true);
            _notUntilFlush = false;
            return inner.FlushAsync(cancellationToken);
        }

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null)
        {
            Release(rewrite: true);
            inner.Complete(exception);
        }

        public override ValueTask CompleteAsync(Exception? exception = null)
        {
            Release(rewrite: true);
            return inner.CompleteAsync(exception);
        }

        // Once bytes are held, everything after them is held too, so the order on the wire never changes.
        private bool Hold(int sizeHint)
        {
            _holding = !_passThrough && !_notUntilFlush && (_held.WrittenCount > 0 || responses.None);
            if (_holding && _held.WrittenCount + sizeHint > MaxHeldBytes)
            {
                Release(rewrite: false);
                _notUntilFlush = true;
                _holding = false;
            }

            return _holding;
        }

        private void Release(bool rewrite)
        {
            if (_held.WrittenCount == 0)
            {
                return;
            }

            var held = _held.WrittenSpan;
            _passThrough |= !held.StartsWith("HTTP/1."u8);
            if (rewrite && TryRewrite(held) is { } problem)
            {
                inner.Write(problem);
            }
            else
            {
                inner.Write(held);
            }

            _held.ResetWrittenCount();
        }
    }
}
