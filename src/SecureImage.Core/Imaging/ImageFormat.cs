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

    /// <summary>The format whose content type the catalog recorded; false for anything else.</summary>
    public static bool TryParseContentType(string contentType, out ImageFormat format)
    {
        foreach (var candidate in Enum.GetValues<ImageFormat>())
        {
            if (string.Equals(candidate.ContentType(), contentType, StringComparison.Ordinal))
            {
                format = candidate;
                return true;
            }
        }

        format = default;
        return false;
    }
}
