namespace SecureImage.Core.Imaging;

public enum ImageRejection
{
    /// <summary>Not one of the accepted formats (HTML, SVG, PDF, HEIF, TIFF, BMP, anything else). HTTP 415.</summary>
    UnsupportedType,

    /// <summary>An accepted format, but truncated, malformed or inconsistent. HTTP 422.</summary>
    Malformed,

    /// <summary>Width, height or pixel count over the configured limits. HTTP 422.</summary>
    DimensionsTooLarge,

    /// <summary>An animation with more frames than allowed. HTTP 422.</summary>
    TooManyFrames,
}

/// <summary>
/// The sanitizer's only way of refusing an input. <see cref="Exception.Message"/> is written for the
/// client: plain words, nothing from the image's contents.
/// </summary>
public sealed class ImageRejectedException : Exception
{
    public ImageRejectedException(ImageRejection reason, string message)
        : base(message) => Reason = reason;

    public ImageRejectedException()
        : this(ImageRejection.Malformed, "The image is malformed.")
    {
    }

    public ImageRejectedException(string message)
        : this(ImageRejection.Malformed, message)
    {
    }

    public ImageRejectedException(string message, Exception innerException)
        : base(message, innerException) => Reason = ImageRejection.Malformed;

    public ImageRejection Reason { get; }
}
