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

        var read = await limited.ReadToEndAsync(4096);

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

        var refused = await Assert.ThrowsAsync<UploadTooLargeException>(() => limited.ReadToEndAsync(4096));
        Assert.Equal(limit, refused.MaxBytes);
    }

    [Fact]
    public async Task Body_far_over_the_limit_is_refused_after_reading_at_most_one_byte_too_many()
    {
        var source = new CountingStream(new GeneratedStream(10_000_000));
        var limited = new MaxLengthReadStream(source, 1000);

        await Assert.ThrowsAsync<UploadTooLargeException>(() => limited.ReadToEndAsync(65536));
        Assert.Equal(1001, source.BytesRead);
    }

    [Fact]
    public async Task Zero_length_read_returns_zero_without_refusing_the_body()
    {
        var limited = new MaxLengthReadStream(new GeneratedStream(10), 10);

        Assert.Equal(0, await limited.ReadAsync(Memory<byte>.Empty));
        Assert.Equal(10, (await limited.ReadToEndAsync(4096)).Length);
        Assert.Equal(0, await limited.ReadAsync(Memory<byte>.Empty));
    }

    [Fact]
    public async Task Body_once_refused_stays_refused()
    {
        var limited = new MaxLengthReadStream(new GeneratedStream(100), 10);
        await Assert.ThrowsAsync<UploadTooLargeException>(() => limited.ReadToEndAsync(4096));

        await Assert.ThrowsAsync<UploadTooLargeException>(() => limited.ReadAsync(new byte[10]).AsTask());
    }

    [Fact]
    public async Task Largest_possible_limit_lets_a_body_through()
    {
        var limited = new MaxLengthReadStream(new GeneratedStream(100_000), long.MaxValue);

        Assert.Equal(100_000, (await limited.ReadToEndAsync(4096)).Length);
    }

    [Fact]
    public void Negative_limit_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new MaxLengthReadStream(Stream.Null, -1));
    }
}
