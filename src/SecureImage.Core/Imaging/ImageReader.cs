namespace SecureImage.Core.Imaging;

/// <summary>
/// Sequential, forward-only reader over the upload stream with one fixed buffer: the network stream
/// cannot seek and may return short reads, and memory must stay bounded whatever the image claims.
/// </summary>
internal sealed class ImageReader
{
    public const int BufferSize = 64 * 1024;

    private readonly Stream source;
    private readonly byte[] buffer = new byte[BufferSize];
    private int start;
    private int end;
    private bool endOfStream;

    public ImageReader(Stream source) => this.source = source;

    public int Available => end - start;

    /// <summary>The buffered, unread bytes; valid until the next call that reads or advances.</summary>
    public ReadOnlyMemory<byte> Buffered => buffer.AsMemory(start, end - start);

    /// <summary>Buffers at least <paramref name="count"/> bytes unless the stream ends first; returns what is buffered.</summary>
    public async ValueTask<int> FillAsync(int count, CancellationToken cancellationToken)
    {
        if (end - start >= count || endOfStream)
        {
            return end - start;
        }

        if (start > 0)
        {
            Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
            end -= start;
            start = 0;
        }

        while (end < count && !endOfStream)
        {
            var read = await source.ReadAsync(buffer.AsMemory(end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                endOfStream = true;
            }

            end += read;
        }

        return end - start;
    }

    public void Advance(int count) => start += count;

    /// <summary>Reads exactly <paramref name="count"/> bytes (at most the buffer size); the memory is valid until the next read.</summary>
    public async ValueTask<ReadOnlyMemory<byte>> ReadExactlyAsync(int count, CancellationToken cancellationToken)
    {
        if (await FillAsync(count, cancellationToken).ConfigureAwait(false) < count)
        {
            throw ImageErrors.Truncated();
        }

        var result = buffer.AsMemory(start, count);
        start += count;
        return result;
    }

    public async ValueTask<byte> ReadByteAsync(CancellationToken cancellationToken)
    {
        if (end == start && await FillAsync(1, cancellationToken).ConfigureAwait(false) < 1)
        {
            throw ImageErrors.Truncated();
        }

        return buffer[start++];
    }

    /// <summary>Returns the next 1..<paramref name="maxCount"/> bytes and consumes them; valid until the next read.</summary>
    public async ValueTask<ReadOnlyMemory<byte>> ReadBlockAsync(long maxCount, CancellationToken cancellationToken)
    {
        if (end == start && await FillAsync(1, cancellationToken).ConfigureAwait(false) < 1)
        {
            throw ImageErrors.Truncated();
        }

        var count = (int)Math.Min(maxCount, end - start);
        var result = buffer.AsMemory(start, count);
        start += count;
        return result;
    }

    public async ValueTask CopyAsync(ImageWriter writer, long count, CancellationToken cancellationToken)
    {
        while (count > 0)
        {
            var block = await ReadBlockAsync(count, cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(block, cancellationToken).ConfigureAwait(false);
            count -= block.Length;
        }
    }

    public async ValueTask SkipAsync(long count, CancellationToken cancellationToken)
    {
        while (count > 0)
        {
            count -= (await ReadBlockAsync(count, cancellationToken).ConfigureAwait(false)).Length;
        }
    }

    /// <summary>Reads whatever follows the image's end and discards it (trailing bytes are never carried over).</summary>
    public async ValueTask DrainAsync(CancellationToken cancellationToken)
    {
        start = end = 0;
        while (!endOfStream)
        {
            if (await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false) == 0)
            {
                endOfStream = true;
            }
        }
    }
}
