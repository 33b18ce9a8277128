using System.IO.Pipelines;
using System.Security.Cryptography;
using SecureImage.Core.Crypto;
using SecureImage.Core.Tests.TestSupport;

namespace SecureImage.Core.Tests.Crypto;

/// <summary>Measures process-wide allocation, so it runs alone, after the parallel tests.</summary>
[CollectionDefinition(nameof(AllocationMeasuringCollection), DisableParallelization = true)]
public sealed class AllocationMeasuringCollection;

[Collection(nameof(AllocationMeasuringCollection))]
public sealed class EnvelopeMemoryTests
{
    private const long Size = 32L * 1024 * 1024;

    [Fact]
    public async Task Envelope_encryption_and_decryption_allocate_far_less_than_the_stream_they_carry()
    {
        var dataKey = TestKeys.NewDataKey();
        var imageId = Guid.NewGuid();

        // Warm up code paths and pools so the measurement sees only what grows with size.
        await PumpAsync(64 * 1024, dataKey, imageId);

        var before = GC.GetTotalAllocatedBytes(precise: true);
        var (length, plaintextHash) = await PumpAsync(Size, dataKey, imageId);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        Assert.Equal(Size, length);
        Assert.Equal(ExpectedHash(Size), plaintextHash);
        // Async machinery costs a few KiB per segment (about 1.7 MiB here); buffering the stream would cost 32 MiB or more.
        Assert.True(allocated < Size / 4, $"Allocated {allocated:N0} bytes to carry {Size:N0}.");
    }

    /// <summary>Generated source → envelope writer → pipe → envelope reader → hash, all streaming.</summary>
    private static async Task<(long Length, byte[] Hash)> PumpAsync(long size, byte[] dataKey, Guid imageId)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 256 * 1024, resumeWriterThreshold: 128 * 1024));
        var writer = Task.Run(async () =>
        {
            await using var envelope = new EnvelopeEncryptingStream(pipe.Writer.AsStream(), dataKey, imageId, Envelopes.KeyId);
            await new GeneratedStream(size).CopyToAsync(envelope, 50_001);
            await envelope.CompleteAsync(CancellationToken.None);
            await pipe.Writer.CompleteAsync();
        });

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long length = 0;
        await using (var decrypting = new EnvelopeDecryptingStream(pipe.Reader.AsStream(), dataKey, imageId))
        {
            var buffer = new byte[40_003];
            int read;
            while ((read = await decrypting.ReadAsync(buffer)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                length += read;
            }
        }

        await writer;
        return (length, hash.GetHashAndReset());
    }

    private static byte[] ExpectedHash(long size)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var source = new GeneratedStream(size);
        var buffer = new byte[81920];
        int read;
        while ((read = source.Read(buffer, 0, buffer.Length)) > 0)
        {
            hash.AppendData(buffer, 0, read);
        }

        return hash.GetHashAndReset();
    }
}
