using SecureImage.Core.Imaging;
using SecureImage.Core.Tests.TestSupport;
using static SecureImage.Core.Tests.Imaging.FormatFixtures;

namespace SecureImage.Core.Tests.Imaging;

/// <summary>GIF control extensions that apply to no image, or that a later one overrides, are not carried over.</summary>
public sealed class GifHostileStructureTests
{
    private static readonly byte[] Marker = IccFixture.Marker;

    [Fact]
    public async Task Gif_control_extensions_repeated_before_one_image_keep_only_the_last()
    {
        // Browsers and ImageSharp apply the last control extension before an image; the others are dead bytes.
        var gif = RealImages.Gif();
        var first = FirstControl(gif);
        var repeated = Enumerable.Range(0, Marker.Length / 3).Select(index => Control(Marker[3 * index], Marker[(3 * index) + 1], Marker[(3 * index) + 2])).ToArray();
        var input = Bytes.Concat(gif[..first], Bytes.Concat(repeated), gif[first..]);

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.Equal(gif, output);
        PixelComparison.AssertIdentical(input, output, "repeated control extensions");
    }

    [Fact]
    public async Task Gif_control_extension_with_no_image_after_it_is_dropped()
    {
        var gif = RealImages.Gif();
        var input = Bytes.Concat(gif[..^1], Control((byte)'S', (byte)'E', (byte)'C'), [0x3B]);

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.Equal(gif, output);
    }

    [Fact]
    public async Task Gif_control_extension_of_a_dropped_plain_text_block_is_dropped_with_it()
    {
        var gif = RealImages.Gif();
        var first = FirstControl(gif);
        byte[] plainText = [0x21, 0x01, 12, .. new byte[12], 4, .. "TEXT"u8, 0];
        var input = Bytes.Concat(gif[..first], Control(0, 200, 0), plainText, gif[first..]);

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.Equal(gif, output);
    }

    [Fact]
    public async Task Gif_transparent_index_without_the_transparency_flag_is_cleared()
    {
        var input = Gif(Control(10, 0, (byte)'S'), GifFrame());

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.Equal(Gif(Control(10, 0, 0), GifFrame()), output);
    }

    [Fact]
    public async Task Gif_image_data_is_reblocked_so_its_sub_block_sizes_carry_nothing()
    {
        // The same LZW bytes cut into sub-blocks of 1 to 7 bytes, sizes the sender chose to encode the marker.
        var gif = RealImages.Gif(frames: 1);
        var (start, data) = ImageData(gif);
        var sizes = new Queue<byte>(Marker);
        var cut = new List<byte>();
        for (var at = 0; at < data.Length;)
        {
            var size = Math.Min(data.Length - at, sizes.Count > 0 ? (sizes.Dequeue() % 7) + 1 : 1);
            cut.Add((byte)size);
            cut.AddRange(data[at..(at + size)]);
            at += size;
        }

        var input = Bytes.Concat(gif[..start], [.. cut, 0], Tail(gif));

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.Equal(gif, output);
        PixelComparison.AssertIdentical(input, output, "re-blocked");
    }

    /// <summary>The first image's LZW sub-blocks joined, and where its first sub-block starts.</summary>
    private static (int Start, byte[] Data) ImageData(byte[] gif)
    {
        var image = gif.AsSpan().IndexOf(new byte[] { 0x2C, 0, 0, 0, 0 });
        var at = image + 10 + ((gif[image + 9] & 0x80) != 0 ? 3 << ((gif[image + 9] & 0x07) + 1) : 0) + 1;
        var start = at;
        var data = new List<byte>();
        while (gif[at] != 0)
        {
            data.AddRange(gif[(at + 1)..(at + 1 + gif[at])]);
            at += 1 + gif[at];
        }

        return (start, [.. data]);
    }

    /// <summary>What follows the first image's data terminator.</summary>
    private static byte[] Tail(byte[] gif)
    {
        var at = ImageData(gif).Start;
        while (gif[at] != 0)
        {
            at += 1 + gif[at];
        }

        return gif[(at + 1)..];
    }

    /// <summary>A graphic control extension without transparency: delay and transparent index as given.</summary>
    private static byte[] Control(byte delayLow, byte delayHigh, byte transparentIndex) => [0x21, 0xF9, 4, 0x04, delayLow, delayHigh, transparentIndex, 0];

    private static int FirstControl(byte[] gif) => gif.AsSpan().IndexOf(new byte[] { 0x21, 0xF9, 4 });
}
