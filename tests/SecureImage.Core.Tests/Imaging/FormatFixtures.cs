using System.Buffers.Binary;
using System.Text;
using SecureImage.Core.Imaging;

namespace SecureImage.Core.Tests.Imaging;

/// <summary>Small PNG, GIF and WebP files built in code; the pixel payloads are opaque to the sanitizer.</summary>
internal static class FormatFixtures
{
    public static byte[] PngChunk(string type, byte[] data)
    {
        var chunk = new byte[12 + data.Length];
        BinaryPrimitives.WriteUInt32BigEndian(chunk, (uint)data.Length);
        Encoding.ASCII.GetBytes(type).CopyTo(chunk, 4);
        data.CopyTo(chunk, 8);
        var crc = Crc32.Finish(Crc32.Update(Crc32.Initial, chunk.AsSpan(4, 4 + data.Length)));
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + data.Length), crc);
        return chunk;
    }

    public static byte[] PngHeader(int width = 4, int height = 3)
    {
        var ihdr = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), (uint)height);
        ihdr[8] = 8;
        ihdr[9] = 6;
        return PngChunk("IHDR", ihdr);
    }

    public static byte[] Png(params byte[][] chunksBeforeData) => Bytes.Concat(
        PngSanitizer.Signature.ToArray(), PngHeader(), Bytes.Concat(chunksBeforeData), PngChunk("IDAT", [0x78, 0x9C, 1, 2, 3]), PngChunk("IEND", []));

    public static byte[] Text(string type, string text) => PngChunk(type, Encoding.ASCII.GetBytes(text));

    public static byte[] GifHeader(int width = 4, int height = 3) =>
        [.. "GIF89a"u8, (byte)width, (byte)(width >> 8), (byte)height, (byte)(height >> 8), 0x80, 0, 0, 0, 0, 0, 255, 255, 255];

    public static byte[] GifFrame() => [0x2C, 0, 0, 0, 0, 4, 0, 3, 0, 0, 2, 3, 0x84, 0x1D, 0x05, 0];

    public static byte[] GifControl() => [0x21, 0xF9, 4, 0, 10, 0, 0, 0];

    public static byte[] GifLoop() => [0x21, 0xFF, 11, .. "NETSCAPE2.0"u8, 3, 1, 0, 0, 0];

    public static byte[] GifComment() => [0x21, 0xFE, 14, .. "SECRET-COMMENT"u8, 0];

    public static byte[] GifXmp() => [0x21, 0xFF, 11, .. "XMP DataXMP"u8, 10, .. "SECRET-XMP"u8, 0];

    public static byte[] Gif(params byte[][] blocks) => Bytes.Concat(GifHeader(), Bytes.Concat(blocks), [0x3B]);

    public static byte[] RiffChunk(string fourCc, byte[] data)
    {
        var chunk = new byte[8 + data.Length + (data.Length & 1)];
        Encoding.ASCII.GetBytes(fourCc).CopyTo(chunk, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(chunk.AsSpan(4), (uint)data.Length);
        data.CopyTo(chunk, 8);
        return chunk;
    }

    /// <summary>A lossy key frame header (tag, start code, 14-bit sizes) and some opaque bytes.</summary>
    public static byte[] Vp8(int width = 4, int height = 3) =>
        RiffChunk("VP8 ", [0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A, (byte)width, (byte)(width >> 8), (byte)height, (byte)(height >> 8), 7, 7, 7]);

    public static byte[] Vp8X(byte flags, int width = 4, int height = 3) =>
        RiffChunk("VP8X", [flags, 0, 0, 0, (byte)(width - 1), (byte)((width - 1) >> 8), 0, (byte)(height - 1), (byte)((height - 1) >> 8), 0]);

    public static byte[] WebP(params byte[][] chunks)
    {
        var body = Bytes.Concat(chunks);
        var header = new byte[12];
        "RIFF"u8.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), (uint)(4 + body.Length));
        "WEBP"u8.CopyTo(header.AsSpan(8));
        return Bytes.Concat(header, body);
    }
}
