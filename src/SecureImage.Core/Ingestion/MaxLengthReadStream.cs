namespace SecureImage.Core.Ingestion;

/// <summary>
/// Passes reads through and throws <see cref="UploadTooLargeException"/> as soon as more than
/// <c>maxBytes</c> have been read, whatever the request claimed its length was.
/// </summary>
public sealed class MaxLengthReadStream : Stream
{
    private readonly Stream _inner;
    private readonly long _maxBytes;

    public MaxLengthReadStream(Stream inner, long maxBytes)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        _inner = inner;
        _maxBytes = maxBytes;
    }

    public long BytesRead { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => BytesRead;
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            // A zero-byte read (e.g. waiting for data) is not an attempt to read past the limit.
            return await _inner.ReadAsync(buffer, cancellationToken);
        }

        // Ask for one byte past the limit at most, so an oversized body is noticed without reading much more.
        // (Compared before adding one, so a limit of long.MaxValue does not overflow.)
        var remaining = _maxBytes - BytesRead;
        if (remaining < 0)
        {
            throw new UploadTooLargeException(_maxBytes);
        }

        var allowed = remaining < buffer.Length ? (int)remaining + 1 : buffer.Length;
        var read = await _inner.ReadAsync(buffer[..allowed], cancellationToken);
        BytesRead += read;
        if (BytesRead > _maxBytes)
        {
            throw new UploadTooLargeException(_maxBytes);
        }

        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("Use ReadAsync: uploads are read asynchronously only.");

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

public sealed class UploadTooLargeException : Exception
{
    public UploadTooLargeException()
    {
    }

    public UploadTooLargeException(long maxBytes)
        : base($"The image is larger than the limit of {maxBytes} bytes.") => MaxBytes = maxBytes;

    public UploadTooLargeException(string message)
        : base(message)
    {
    }

    public UploadTooLargeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public long MaxBytes { get; }
}
