using SecureImage.Core.Ingestion;
using SecureImage.Core.Tests.TestSupport;

namespace SecureImage.Core.Tests.Ingestion;

public sealed class MaxLengthReadStreamTests
{
    [Theory]
    [InlineData(0, 4096)]
    [InlineData(1000, 4096)]
    [InlineData(1000, 1)]
    [InlineData(100_000, 7)]
    public async Task Body_of_exactly_the_limit_is_read_whole(int limit, int bytesPerRead)
    {
        var limited = new MaxLengthReadStream(new TricklingStream(new GeneratedStream(limit), bytesPerRead), limit);

        var read = await ReadToEndAsync(limited);

        Assert.Equal(limit, read.Length);
        Assert.Equal(limit, limited.BytesRead);
        Assert.Equal(Enumerable.Range(0, limit).Select(i => GeneratedStream.ByteAt(i)), read);
    }

    [Theory]
    [InlineData(0, 4096)]
    [InlineData(1000, 4096)]
    [InlineData(1000, 1)]
    [InlineData(100_000, 7)]
    public async Task Body_one_byte_over_the_limit_is_refused(int limit, int bytesPerRead)
    {
        var limited = new MaxLengthReadStream(new TricklingStream(new GeneratedStream(limit + 1), bytesPerRead), limit);

        var refused = await Assert.ThrowsAsync<UploadTooLargeException>(() => ReadToEndAsync(limited));
        Assert.Equal(limit, refused.MaxBytes);
    }

    [Fact]
    public async Task Body_far_over_the_limit_is_refused_after_reading_at_most_one_byte_too_many()
    {
        var source = new CountingStream(new GeneratedStream(10_000_000));
        var limited = new MaxLengthReadStream(source, 1000);

        await Assert.ThrowsAsync<UploadTooLargeException>(() => ReadToEndAsync(limited, bufferSize: 65536));
        Assert.Equal(1001, source.BytesRead);
    }

    [Fact]
    public async Task Zero_length_read_returns_zero_without_refusing_the_body()
    {
        var limited = new MaxLengthReadStream(new GeneratedStream(10), 10);

        Assert.Equal(0, await limited.ReadAsync(Memory<byte>.Empty));
        Assert.Equal(10, (await ReadToEndAsync(limited)).Length);
        Assert.Equal(0, await limited.ReadAsync(Memory<byte>.Empty));
    }

    [Fact]
    public async Task Body_once_refused_stays_refused()
    {
        var limited = new MaxLengthReadStream(new GeneratedStream(100), 10);
        await Assert.ThrowsAsync<UploadTooLargeException>(() => ReadToEndAsync(limited));

        await Assert.ThrowsAsync<UploadTooLargeException>(() => limited.ReadAsync(new byte[10]).AsTask());
    }

    [Fact]
    public async Task Largest_possible_limit_lets_a_body_through()
    {
        var limited = new MaxLengthReadStream(new GeneratedStream(100_000), long.MaxValue);

        Assert.Equal(100_000, (await ReadToEndAsync(limited)).Length);
    }

    [Fact]
    public void Negative_limit_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new MaxLengthReadStream(Stream.Null, -1));
    }

    private static async Task<byte[]> ReadToEndAsync(Stream stream, int bufferSize = 4096)
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

    private sealed class CountingStream(Stream inner) : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;

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
            var read = await inner.ReadAsync(buffer, cancellationToken);
            BytesRead += read;
            return read;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
