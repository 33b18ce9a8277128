using System.Buffers.Binary;

namespace SecureImage.Api.Tests.Faults;

/// <summary>
/// Looks for 32-byte windows of images in files, in one pass per file (hash of each window's first
/// 8 bytes), so that large files such as Azurite's debug log are scanned in seconds.
/// </summary>
internal sealed class PlaintextScan
{
    private const int Window = 32;
    private readonly Dictionary<ulong, List<byte[]>> _needles = [];

    public PlaintextScan(IEnumerable<byte[]> images)
    {
        foreach (var image in images)
        {
            // 32-byte windows every 2 KiB of the image body (past any header that other files might share).
            for (var offset = Math.Min(1024, image.Length / 2); offset + Window <= image.Length; offset += 2048)
            {
                var needle = image.AsSpan(offset, Window).ToArray();
                var key = BinaryPrimitives.ReadUInt64LittleEndian(needle);
                if (!_needles.TryGetValue(key, out var list))
                {
                    _needles[key] = list = [];
                }

                list.Add(needle);
            }
        }
    }

    public int Needles => _needles.Values.Sum(l => l.Count);

    /// <summary>True when the bytes hold any window of the images.</summary>
    public bool Finds(ReadOnlySpan<byte> bytes)
    {
        for (var i = 0; i + Window <= bytes.Length; i++)
        {
            if (_needles.TryGetValue(BinaryPrimitives.ReadUInt64LittleEndian(bytes[i..]), out var list))
            {
                foreach (var needle in list)
                {
                    if (bytes.Slice(i, Window).SequenceEqual(needle))
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }
}
