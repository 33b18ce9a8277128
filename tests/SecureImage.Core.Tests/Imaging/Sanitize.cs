using SecureImage.Core.Imaging;

namespace SecureImage.Core.Tests.Imaging;

/// <summary>Runs the sanitizer over bytes in memory, as the upload pipeline would over a stream.</summary>
internal static class Sanitize
{
    public static async Task<(SanitizedImage Image, byte[] Output)> BytesAsync(byte[] input, ImageLimits? limits = null, int? readSize = null)
    {
        using var source = readSize is { } size ? new ShortReadStream(input, size) : (Stream)new MemoryStream(input, writable: false);
        using var destination = new MemoryStream();
        var image = await new ContainerImageSanitizer()
            .SanitizeAsync(source, destination, limits ?? ImageLimits.Default, CancellationToken.None);
        Assert.Equal(destination.Length, image.Bytes);
        return (image, destination.ToArray());
    }

    public static async Task<ImageRejectedException> RejectionAsync(byte[] input, ImageLimits? limits = null) =>
        await Assert.ThrowsAsync<ImageRejectedException>(() => BytesAsync(input, limits));
}

/// <summary>A non-seekable source that returns at most a few bytes per read, like a slow network.</summary>
internal sealed class ShortReadStream(byte[] data, int maxRead) : Stream
{
    private int position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var count = Math.Min(Math.Min(buffer.Length, maxRead), data.Length - position);
        data.AsSpan(position, count).CopyTo(buffer);
        position += count;
        return count;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Read(buffer.Span));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

internal static class Corpus
{
    public static string Directory { get; } = FindCorpus();

    public static byte[] Read(string name) => File.ReadAllBytes(Path.Combine(Directory, name));

    private static string FindCorpus()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "SecureImage.sln")))
            {
                return Path.GetFullPath(Path.Combine(folder.FullName, "..", "shared", "corpus"));
            }
        }

        throw new InvalidOperationException("SecureImage.sln not found above " + AppContext.BaseDirectory);
    }
}

internal static class Bytes
{
    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(part => part).ToArray();

    public static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    public static bool Contains(byte[] haystack, string ascii) => Contains(haystack, System.Text.Encoding.ASCII.GetBytes(ascii));
}
