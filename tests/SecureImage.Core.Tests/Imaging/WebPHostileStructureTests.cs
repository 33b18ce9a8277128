using System.Buffers.Binary;
using SecureImage.Core.Imaging;
using static SecureImage.Core.Tests.Imaging.FormatFixtures;

namespace SecureImage.Core.Tests.Imaging;

/// <summary>WebP sizes near the RIFF limit and alpha data no decoder reads.</summary>
public sealed class WebPHostileStructureTests
{
    private static readonly byte[] Marker = IccFixture.Marker;

    [Fact]
    public async Task WebP_declaring_a_riff_size_near_4_GiB_with_a_profile_that_grows_is_rejected()
    {
        // The rebuilt profile is larger than this minimal one, so the output size would pass 2^32.
        var still = RealImages.WebPLossyWithAlpha();
        var input = Bytes.Concat(WebP(Vp8X(0x30, 10, 8), RiffChunk("ICCP", MinimalRgbProfile()), still[30..]));
        Assert.Equal("ALPH"u8.ToArray(), still[30..34]);
        BinaryPrimitives.WriteUInt32LittleEndian(input.AsSpan(4), uint.MaxValue - 1);

        var rejection = await Sanitize.RejectionAsync(input);

        Assert.Equal(ImageRejection.Malformed, rejection.Reason);
    }

    [Fact]
    public async Task WebP_alpha_chunk_before_a_lossless_bitstream_is_rejected()
    {
        // A lossless bitstream carries its own alpha; decoders never read such an ALPH chunk.
        var input = WebP(Vp8X(0x10, 10, 8), RiffChunk("ALPH", Bytes.Concat([0], Marker)), RealImages.WebPLossless()[12..]);

        var rejection = await Sanitize.RejectionAsync(input);

        Assert.Equal(ImageRejection.Malformed, rejection.Reason);
    }

    [Fact]
    public async Task WebP_uncompressed_alpha_must_hold_exactly_one_byte_per_pixel()
    {
        var still = RealImages.WebPLossyWithAlpha();
        var alpha = RealImages.RiffChunks(still).Single(chunk => chunk.FourCc == "ALPH");
        var bitstream = still[(alpha.Start + alpha.Length)..];
        var raw = Enumerable.Range(0, 80).Select(pixel => (byte)(255 - pixel)).ToArray();
        var exact = WebP(Vp8X(0x10, 10, 8), RiffChunk("ALPH", Bytes.Concat([0], raw)), bitstream);
        var longer = WebP(Vp8X(0x10, 10, 8), RiffChunk("ALPH", Bytes.Concat([0], raw, Marker)), bitstream);
        var unknownMethod = WebP(Vp8X(0x10, 10, 8), RiffChunk("ALPH", Bytes.Concat([2], raw)), bitstream);

        var (_, output) = await Sanitize.BytesAsync(exact);
        var tooLong = await Sanitize.RejectionAsync(longer);
        var unknown = await Sanitize.RejectionAsync(unknownMethod);

        Assert.Equal(exact, output);
        Assert.Equal(ImageRejection.Malformed, tooLong.Reason);
        Assert.Equal(ImageRejection.Malformed, unknown.Reason);
    }

    [Fact]
    public async Task Animated_webp_frame_with_uncompressed_alpha_longer_than_the_frame_is_rejected()
    {
        var lossy = RealImages.WebPLossyWithAlpha();
        var alpha = RealImages.RiffChunks(lossy).Single(chunk => chunk.FourCc == "ALPH");
        var frameHeader = new byte[16];
        frameHeader[6] = 9;
        frameHeader[9] = 7;
        var frame = RiffChunk("ANMF", Bytes.Concat(frameHeader, RiffChunk("ALPH", Bytes.Concat([0], new byte[80], Marker)), lossy[(alpha.Start + alpha.Length)..]));
        var input = WebP(Vp8X(0x12, 10, 8), RiffChunk("ANIM", new byte[6]), frame);

        var rejection = await Sanitize.RejectionAsync(input);

        Assert.Equal(ImageRejection.Malformed, rejection.Reason);
    }

    /// <summary>The smallest RGB matrix/TRC profile: every XYZ tag shares one value and every curve one identity curve.</summary>
    internal static byte[] MinimalRgbProfile()
    {
        string[] xyz = ["wtpt", "rXYZ", "gXYZ", "bXYZ"];
        string[] curves = ["rTRC", "gTRC", "bTRC"];
        var profile = new byte[128 + 4 + (7 * 12) + 20 + 12];
        BinaryPrimitives.WriteUInt32BigEndian(profile, (uint)profile.Length);
        profile[8] = 2;
        "mntr"u8.CopyTo(profile.AsSpan(12));
        "RGB "u8.CopyTo(profile.AsSpan(16));
        "XYZ "u8.CopyTo(profile.AsSpan(20));
        "acsp"u8.CopyTo(profile.AsSpan(36));
        BinaryPrimitives.WriteUInt32BigEndian(profile.AsSpan(128), 7);
        var xyzAt = 128 + 4 + (7 * 12);
        var curveAt = xyzAt + 20;
        foreach (var (signature, index) in xyz.Concat(curves).Select((signature, index) => (signature, index)))
        {
            var entry = profile.AsSpan(132 + (12 * index));
            System.Text.Encoding.ASCII.GetBytes(signature).CopyTo(entry);
            BinaryPrimitives.WriteUInt32BigEndian(entry[4..], (uint)(index < xyz.Length ? xyzAt : curveAt));
            BinaryPrimitives.WriteUInt32BigEndian(entry[8..], index < xyz.Length ? 20u : 12u);
        }

        "XYZ "u8.CopyTo(profile.AsSpan(xyzAt));
        BinaryPrimitives.WriteInt32BigEndian(profile.AsSpan(xyzAt + 12), 0x10000);
        "curv"u8.CopyTo(profile.AsSpan(curveAt));
        return profile;
    }
}
