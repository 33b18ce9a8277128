using System.Buffers;
using System.Security.Cryptography;

namespace SecureImage.Core.Crypto;

/// <summary>
/// A read-only stream of the plaintext of an envelope v1, authenticated segment by segment. A
/// segment is released to the reader only after its tag verified; any tampering, truncation,
/// reordering or extension surfaces as <see cref="EnvelopeException"/>.
/// </summary>
public sealed class EnvelopeDecryptingStream : Stream
{
    private readonly Stream _inner;
    private readonly byte[] _dataKey;
    private readonly Guid _imageId;
    private AesGcm? _aes;
    private EnvelopeHeader? _header;
    private byte[]? _aad;
    private byte[]? _sealed;
    private byte[]? _plain;
    private int _plainOffset;
    private int _plainLength;
    private uint _counter;
    private bool _finished;
    private bool _disposed;

    public EnvelopeDecryptingStream(Stream inner, ReadOnlySpan<byte> dataKey, Guid imageId)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (dataKey.Length != EnvelopeFormat.DataKeySize)
        {
            throw new ArgumentException("A data key is 32 bytes.", nameof(dataKey));
        }

        _inner = inner;
        _dataKey = dataKey.ToArray();
        _imageId = imageId;
    }

    public override bool CanRead => !_disposed;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (_plainOffset == _plainLength)
        {
            if (_finished)
            {
                return 0;
            }

            await OpenNextSegmentAsync(cancellationToken);
        }

        var take = Math.Min(buffer.Length, _plainLength - _plainOffset);
        _plain.AsSpan(_plainOffset, take).CopyTo(buffer.Span);
        _plainOffset += take;
        return take;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("Use ReadAsync: the envelope reader is asynchronous only.");

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (!_disposed)
        {
            _disposed = true;
            _aes?.Dispose();
            CryptographicOperations.ZeroMemory(_dataKey);
            if (_plain is not null)
            {
                CryptographicOperations.ZeroMemory(_plain);
                ArrayPool<byte>.Shared.Return(_plain);
            }

            if (_sealed is not null)
            {
                ArrayPool<byte>.Shared.Return(_sealed);
            }

            if (disposing)
            {
                _inner.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            await _inner.DisposeAsync();
        }

        Dispose(disposing: false);
        GC.SuppressFinalize(this);
    }

    private async Task OpenNextSegmentAsync(CancellationToken cancellationToken)
    {
        if (_header is null)
        {
            _header = await EnvelopeFormat.ReadHeaderAsync(_inner, cancellationToken);
            _aad = EnvelopeFormat.AssociatedData(_header.Bytes, _imageId);
            _aes = new AesGcm(_dataKey, EnvelopeFormat.TagSize);
            _sealed = ArrayPool<byte>.Shared.Rent(_header.SegmentSize + EnvelopeFormat.TagSize);
            _plain = ArrayPool<byte>.Shared.Rent(_header.SegmentSize);
        }

        var full = _header.SegmentSize + EnvelopeFormat.TagSize;
        var read = await EnvelopeFormat.ReadFullyAsync(_inner, _sealed.AsMemory(0, full), cancellationToken);
        if (read < EnvelopeFormat.TagSize)
        {
            throw new EnvelopeException("The envelope is truncated.");
        }

        // A full-length segment is never the last one (the writer guarantees a short last segment).
        var last = read < full;
        var plainLength = read - EnvelopeFormat.TagSize;
        Span<byte> nonce = stackalloc byte[EnvelopeFormat.NonceSize];
        EnvelopeFormat.SegmentNonce(_header.NoncePrefix, _counter, last, nonce);
        try
        {
            _aes!.Decrypt(nonce, _sealed.AsSpan(0, plainLength), _sealed.AsSpan(plainLength, EnvelopeFormat.TagSize), _plain.AsSpan(0, plainLength), _aad);
        }
        catch (AuthenticationTagMismatchException ex)
        {
            throw new EnvelopeException("The envelope failed authentication.", ex);
        }

        if (last && await _inner.ReadAsync(_sealed.AsMemory(0, 1), cancellationToken) != 0)
        {
            throw new EnvelopeException("The envelope has data after its last segment.");
        }

        _counter++;
        _plainOffset = 0;
        _plainLength = plainLength;
        _finished = last;
    }
}
