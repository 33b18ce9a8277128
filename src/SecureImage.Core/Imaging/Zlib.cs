using System.IO.Compression;

namespace SecureImage.Core.Imaging;

/// <summary>Bounded zlib for the one compressed metadata structure that is kept (PNG's iCCP profile).</summary>
internal static class Zlib
{
    /// <summary>The inflated bytes, or null when the data is not zlib or inflates to more than <paramref name="maxBytes"/>.</summary>
    public static byte[]? Inflate(ReadOnlyMemory<byte> compressed, int maxBytes)
    {
        if (!HeaderValid(compressed.Span))
        {
            return null;
        }

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
        catch (Exception exception) when (exception is InvalidDataException or IOException)
        {
            // IOException: .NET's ZLibException, for an error code its wrapper does not map (a preset
            // dictionary, for one); the source is memory, so nothing else raises it.
            return null;
        }
    }

    /// <summary>
    /// RFC 1950: method 8 (deflate) with a window of at most 32 KiB, check bits that hold and no
    /// preset dictionary (PNG never supplies one).
    /// </summary>
    private static bool HeaderValid(ReadOnlySpan<byte> data) =>
        data.Length >= 2 && (data[0] & 0x0F) == 8 && data[0] >> 4 <= 7 && ((data[0] << 8) | data[1]) % 31 == 0 && (data[1] & 0x20) == 0;

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
