namespace SecureImage.Core.Tests.TestSupport;

internal static class StreamReading
{
    /// <summary>Reads <paramref name="stream"/> to its end in reads of at most <paramref name="bufferSize"/> bytes.</summary>
    public static async Task<byte[]> ReadToEndAsync(this Stream stream, int bufferSize)
    {
        var output = new MemoryStream();
        var buffer = new byte[bufferSize];
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            output.Write(buffer, 0, read);
        }

        return output.ToArray();
    }
}

/// <summary>The boilerplate of a forward-only, read-only, asynchronous test stream; subclasses supply <see cref="ReadAsync(Memory{byte}, CancellationToken)"/>.</summary>
internal abstract class ReadOnlyTestStream : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public abstract override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Read asynchronously.");

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>A non-seekable source of <c>length</c> deterministic bytes that never holds them all in memory.</summary>
internal sealed class GeneratedStream(long length) : ReadOnlyTestStream
{
    private long _position;

    public static byte ByteAt(long position) => (byte)((position * 167) ^ (position >> 13));

    public override int Read(Span<byte> buffer)
    {
        var take = (int)Math.Min(buffer.Length, length - _position);
        for (var i = 0; i < take; i++)
        {
            buffer[i] = ByteAt(_position + i);
        }

        _position += take;
        return take;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));
}

/// <summary>Hands out at most <c>maxPerRead</c> bytes per read of <c>inner</c>, like a slow network body.</summary>
internal sealed class TricklingStream(Stream inner, int maxPerRead) : ReadOnlyTestStream
{
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        inner.ReadAsync(buffer[..Math.Min(buffer.Length, maxPerRead)], cancellationToken);
}

/// <summary>Passes reads of <c>inner</c> through, counting the bytes and telling <c>afterRead</c> the running total.</summary>
internal sealed class CountingStream(Stream inner, Func<long, Task>? afterRead = null) : ReadOnlyTestStream
{
    public long BytesRead { get; private set; }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken);
        BytesRead += read;
        if (afterRead is not null)
        {
            await afterRead(BytesRead);
        }

        return read;
    }
}

/// <summary>Gives <c>head</c>, then waits (honouring cancellation) as a client that stopped sending would.</summary>
internal sealed class StallingStream(byte[] head) : ReadOnlyTestStream
{
    private int _position;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_position < head.Length)
        {
            var count = Math.Min(buffer.Length, head.Length - _position);
            head.AsMemory(_position, count).CopyTo(buffer);
            _position += count;
            return count;
        }

        await Task.Delay(Timeout.Infinite, cancellationToken);
        return 0;
    }
}
