namespace SecureImage.Core.Imaging;

/// <summary>What the sanitizer wrote: the format it recognised, the dimensions from the header and the output size.</summary>
public sealed record SanitizedImage(ImageFormat Format, int Width, int Height, long Bytes)
{
    public string ContentType => Format.ContentType();
}
