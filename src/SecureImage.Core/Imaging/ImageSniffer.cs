namespace SecureImage.Core.Imaging;

/// <summary>Recognises the format from the first bytes only, never from a name or a declared type.</summary>
internal static class ImageSniffer
{
    /// <summary>Enough for the longest signature (RIFF....WEBP).</summary>
    public const int SignatureLength = 12;

    public static ImageFormat? Recognise(ReadOnlySpan<byte> head)
    {
        if (head.StartsWith(JpegSanitizer.Signature))
        {
            return ImageFormat.Jpeg;
        }

        if (head.StartsWith(PngSanitizer.Signature))
        {
            return ImageFormat.Png;
        }

        if (head.StartsWith("GIF87a"u8) || head.StartsWith("GIF89a"u8))
        {
            return ImageFormat.Gif;
        }

        if (head.Length >= 12 && head.StartsWith("RIFF"u8) && head[8..12].SequenceEqual("WEBP"u8))
        {
            return ImageFormat.WebP;
        }

        return null;
    }
}
