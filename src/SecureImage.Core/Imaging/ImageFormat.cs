namespace SecureImage.Core.Imaging;

/// <summary>The image formats the service accepts, recognised by their bytes only.</summary>
public enum ImageFormat
{
    Jpeg,
    Png,
    Gif,
    WebP,
}

public static class ImageFormats
{
    /// <summary>Shown to clients whenever a type is refused.</summary>
    public const string AcceptedTypesText = "image/jpeg, image/png, image/gif, image/webp";

    public static string ContentType(this ImageFormat format) => format switch
    {
        ImageFormat.Jpeg => "image/jpeg",
        ImageFormat.Png => "image/png",
        ImageFormat.Gif => "image/gif",
        ImageFormat.WebP => "image/webp",
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };
}
