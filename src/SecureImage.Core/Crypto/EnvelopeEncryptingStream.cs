using System.Buffers;
using System.Security.Cryptography;

namespace SecureImage.Core.Crypto;

/// <summary>
/// A write-only stream that seals what is written to it as envelope v1 segments into an inner
/// stream. Memory is one plaintext and one ciphertext segment. <see cref="CompleteAsync"/> writes
/// the last segment; an envelope that was never completed does not decrypt.
/// </summary>
public sealed class EnvelopeEncryptingStream : Stream
{
    private readonly Stream _inner;
    private readonly AesGcm _aes;
    private readonly byte[] _header;
    private readonly byte[] _aad;
    private readonly byte[] _noncePrefix;
    private readonly int _segmentSize;
    private readonly byte[] _plain;
    private readonly byte[] _sealed;
    private int _buffered;
    private uint _counter;
    private bool _headerWritten;
    private bool _completed;
    private bool _disposed;

    public EnvelopeEncryptingStream(Stream inner, ReadOnlySpan<byte> dataKey, Guid imageId, string keyId, int segmentSize = EnvelopeFormat.DefaultSegmentSize)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (dataKey.Length != EnvelopeFormat.DataKeySize)
        {
            throw new ArgumentException("A data key is 32 bytes.", nameof(dataKey));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(segmentSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(segmentSize, EnvelopeFormat.MaxSegmentSize);
        _inner = inner;
        _segmentSize = segmentSize;
        _noncePrefix = RandomNumberGenerator.GetBytes(EnvelopeFormat.NoncePrefixSize);
        _header = EnvelopeFormat.WriteHeader(segmentSize, keyId, _noncePrefix);
        _aad = EnvelopeFormat.AssociatedData(_header, imageId);
        _aes = new AesGcm(dataKey, EnvelopeFormat.TagSize);
        _plain = ArrayPool<byte>.Shared.Rent(segmentSize);
        _sealed = ArrayPool<byte>.Shared.Rent(segmentSize + EnvelopeFormat.TagSize);
    }

    /// <summary>Plaintext bytes accepted so far.</summary>
    public long PlaintextLength { get; private set; }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => !_completed && !_disposed;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => PlaintextLength;
        set => throw new NotSupportedException();
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed)
        {
            throw new InvalidOperationException("The envelope is already complete.");
        }

        while (!buffer.IsEmpty)
        {
            if (_buffered == _segmentSize)
            {
                // A full segment is sealed only once more data arrives: the last segment must be short.
                await SealAsync(last: false, cancellationToken);
            }

            var take = Math.Min(buffer.Length, _segmentSize - _buffered);
            buffer.Span[..take].CopyTo(_plain.AsSpan(_buffered));
            _buffered += take;
            PlaintextLength += take;
            buffer = buffer[take..];
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Seals the remaining bytes as the last segment and flushes the inner stream.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed)
        {
            return;
        }

        if (_buffered == _segmentSize)
        {
            await SealAsync(last: false, cancellationToken);
        }

        await SealAsync(last: true, cancellationToken);
        _completed = true;
        await _inner.FlushAsync(cancellationToken);
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
        // Segments are written as they fill; there is nothing partial to push.
    }

    public override void Write(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("Use WriteAsync: the envelope writer is asynchronous only.");

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (!_disposed)
        {
            _disposed = true;
            _aes.Dispose();
            CryptographicOperations.ZeroMemory(_plain);
            ArrayPool<byte>.Shared.Return(_plain);
            ArrayPool<byte>.Shared.Return(_sealed);
        }

        base.Dispose(disposing);
    }

    private async Task SealAsync(bool last, CancellationToken cancellationToken)
    {
        if (!_headerWritten)
        {
            await _inner.WriteAsync(_header, cancellationToken);
            _headerWritten = true;
        }

        if (_counter == uint.MaxValue)
        {
            throw new InvalidOperationException("The envelope has too many segments.");
        }

        Span<byte> nonce = stackalloc byte[EnvelopeFormat.NonceSize];
        EnvelopeFormat.SegmentNonce(_noncePrefix, _counter, last, nonce);
        _aes.Encrypt(nonce, _plain.AsSpan(0, _buffered), _sealed.AsSpan(0, _buffered), _sealed.AsSpan(_buffered, EnvelopeFormat.TagSize), _aad);
        await _inner.WriteAsync(_sealed.AsMemory(0, _buffered + EnvelopeFormat.TagSize), cancellationToken);
        _counter++;
        _buffered = 0;
    }
}
