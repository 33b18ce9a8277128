using System.IO.Compression;

namespace SecureImage.Core.Imaging;

/// <summary>Bounded zlib for the one compressed metadata structure that is kept (PNG's iCCP profile).</summary>
internal static class Zlib
{
    /// <summary>The inflated bytes, or null when the data is not zlib or inflates to more than <paramref name="maxBytes"/>.</summary>
    public static byte[]? Inflate(ReadOnlyMemory<byte> compressed, int maxBytes)
    {
        var output = new byte[maxBytes + 1];
        try
        {
            using var source = new MemoryStream(compressed.ToArray(), writable: false);
            using var zlib = new ZLibStream(source, CompressionMode.Decompress);
            var filled = 0;
            int read;
            // Stops one byte past the bound: a bomb costs at most that much work and memory.
            while (filled < output.Length && (read = zlib.Read(output, filled, output.Length - filled)) > 0)
            {
                filled += read;
            }

            return filled > maxBytes ? null : output[..filled];
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    public static byte[] Deflate(ReadOnlySpan<byte> data)
    {
        using var target = new MemoryStream();
        using (var zlib = new ZLibStream(target, CompressionLevel.Optimal, leaveOpen: true))
        {
            zlib.Write(data);
        }

        return target.ToArray();
    }
}
