using System.Buffers.Binary;
using SecureImage.Core.Imaging;
using SecureImage.Core.Tests.TestSupport;
using SixLabors.ImageSharp.Formats.Png;
using static SecureImage.Core.Tests.Imaging.FormatFixtures;

namespace SecureImage.Core.Tests.Imaging;

/// <summary>APNG frame data outside a frame and IDAT resumed after another chunk: never carried over.</summary>
public sealed class PngHostileStructureTests
{
    private static readonly byte[] Marker = IccFixture.Marker;

    [Fact]
    public async Task Apng_frame_data_before_any_frame_control_is_rejected()
    {
        var input = RealImages.InsertPngChunks(RealImages.Png(PngColorType.Rgb),
            PngChunk("acTL", [0, 0, 0, 1, 0, 0, 0, 0]), PngChunk("fdAT", Bytes.Concat([0, 0, 0, 0], Marker)), PngChunk("fcTL", FrameControl(sequence: 1)));

        var rejection = await Sanitize.RejectionAsync(input);

        Assert.Equal(ImageRejection.Malformed, rejection.Reason);
    }

    [Fact]
    public async Task Apng_frame_data_for_the_frame_that_is_the_default_image_is_rejected()
    {
        // The first frame's fcTL precedes IDAT, so IDAT is its data; an fdAT there belongs to no frame.
        var input = RealImages.InsertPngChunks(RealImages.Png(PngColorType.Rgb),
            PngChunk("acTL", [0, 0, 0, 1, 0, 0, 0, 0]), PngChunk("fcTL", FrameControl(sequence: 0)), PngChunk("fdAT", Bytes.Concat([0, 0, 0, 1], Marker)));

        var rejection = await Sanitize.RejectionAsync(input);

        Assert.Equal(ImageRejection.Malformed, rejection.Reason);
    }

    [Fact]
    public async Task Png_image_data_resumed_after_another_chunk_is_rejected()
    {
        // libpng refuses IDAT after a non-IDAT chunk; dropping the chunk between would splice the two.
        var png = RealImages.Png(PngColorType.Rgb);
        var input = RealImages.InsertPngChunksAfter(png, "IDAT", Text("tEXt", "Comment\0x"), PngChunk("IDAT", Marker));

        var rejection = await Sanitize.RejectionAsync(input);

        Assert.Equal(ImageRejection.Malformed, rejection.Reason);
    }

    [Fact]
    public async Task Apng_with_frames_after_the_default_image_is_still_accepted()
    {
        var png = RealImages.Png(PngColorType.Rgb);
        var idat = RealImages.PngChunkData(png, "IDAT");
        var input = RealImages.InsertPngChunksAfter(
            RealImages.InsertPngChunks(png, PngChunk("acTL", [0, 0, 0, 2, 0, 0, 0, 0]), PngChunk("fcTL", FrameControl(sequence: 0))),
            "IDAT", PngChunk("fcTL", FrameControl(sequence: 1)), PngChunk("fdAT", Bytes.Concat([0, 0, 0, 2], idat)));

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.Equal(input, output);
    }

    [Fact]
    public async Task Png_icc_profile_compressed_with_a_preset_dictionary_is_dropped()
    {
        // A zlib header with FDICT set: the inflater asks for a dictionary PNG never supplies.
        var compressed = RealImages.PngChunkData(RealImages.InsertPngChunks(RealImages.Png(), PngKeptStructureCarrierTests.IccChunk("x"u8.ToArray(), IccFixture.Rgb())), "iCCP")[3..];
        byte[] withDictionary = [0x78, 0xBB, 0, 0, 0, 1, .. compressed[2..]];
        var input = RealImages.InsertPngChunks(RealImages.Png(), PngChunk("iCCP", Bytes.Concat("x\0\0"u8.ToArray(), withDictionary)));

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.DoesNotContain(RealImages.PngChunks(output), chunk => chunk.Type == "iCCP");
        Assert.Equal(RealImages.Png(), output);
    }

    [Fact]
    public async Task Png_image_data_is_rechunked_so_its_chunk_sizes_carry_nothing()
    {
        // The same zlib stream cut into chunks of 1 to 7 bytes with empty chunks between, sizes the sender chose.
        var png = RealImages.Png(PngColorType.Rgb);
        var input = ReplaceChunk(png, "IDAT", [.. Cut(RealImages.PngChunkData(png, "IDAT")).SelectMany(piece => Bytes.Concat(PngChunk("IDAT", piece), PngChunk("IDAT", [])))]);

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.Equal(png, output);
        PixelComparison.AssertIdentical(input, output, "re-chunked");
    }

    [Fact]
    public async Task Apng_frame_data_is_rechunked_and_the_sequence_numbered_again()
    {
        var png = RealImages.Png(PngColorType.Rgb);
        var idat = RealImages.PngChunkData(png, "IDAT");
        var header = RealImages.InsertPngChunks(png, PngChunk("acTL", [0, 0, 0, 2, 0, 0, 0, 0]), PngChunk("fcTL", FrameControl(sequence: 0)));
        var pieces = Cut(idat).ToArray();
        var cut = pieces.Select((piece, index) => PngChunk("fdAT", Bytes.Concat(Sequence(2 + (uint)index), piece)));
        var input = RealImages.InsertPngChunksAfter(header, "IDAT", [PngChunk("fcTL", FrameControl(sequence: 1)), .. cut]);
        var whole = RealImages.InsertPngChunksAfter(header, "IDAT", PngChunk("fcTL", FrameControl(sequence: 1)), PngChunk("fdAT", Bytes.Concat(Sequence(2), idat)));

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.True(pieces.Length > 3);
        Assert.Equal(whole, output);
    }

    [Fact]
    public async Task Png_whose_image_data_chunks_are_all_empty_is_rejected()
    {
        var input = ReplaceChunk(RealImages.Png(PngColorType.Rgb), "IDAT", PngChunk("IDAT", []));

        var rejection = await Sanitize.RejectionAsync(input);

        Assert.Equal(ImageRejection.Malformed, rejection.Reason);
    }

    /// <summary>Pieces of 1 to 7 bytes, sizes taken from the marker.</summary>
    private static IEnumerable<byte[]> Cut(byte[] data)
    {
        for (var (at, index) = (0, 0); at < data.Length; index++)
        {
            var size = Math.Min(data.Length - at, (Marker[index % Marker.Length] % 7) + 1);
            yield return data[at..(at + size)];
            at += size;
        }
    }

    private static byte[] ReplaceChunk(byte[] png, string type, byte[] replacement)
    {
        var (_, start, length) = RealImages.PngChunks(png).First(chunk => chunk.Type == type);
        return Bytes.Concat(png[..start], replacement, png[(start + length)..]);
    }

    private static byte[] Sequence(uint sequence)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, sequence);
        return bytes;
    }

    private static byte[] FrameControl(uint sequence)
    {
        var frameControl = new byte[26];
        BinaryPrimitives.WriteUInt32BigEndian(frameControl, sequence);
        BinaryPrimitives.WriteUInt32BigEndian(frameControl.AsSpan(4), 12);
        BinaryPrimitives.WriteUInt32BigEndian(frameControl.AsSpan(8), 9);
        return frameControl;
    }
}
