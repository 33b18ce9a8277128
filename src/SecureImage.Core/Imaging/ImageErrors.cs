namespace SecureImage.Core.Imaging;

/// <summary>The rejections shared by every format, with messages safe to show to clients.</summary>
internal static class ImageErrors
{
    public static ImageRejectedException Truncated() =>
        new(ImageRejection.Malformed, "The image is truncated: the file ends before the image is complete.");

    public static ImageRejectedException Malformed(string message) => new(ImageRejection.Malformed, message);

    public static ImageRejectedException Unsupported() =>
        new(ImageRejection.UnsupportedType, $"The file is not an accepted image type. Accepted types: {ImageFormats.AcceptedTypesText}.");

    /// <summary>The decompression-bomb guard: checked from the header, before the body is read.</summary>
    public static void CheckDimensions(long width, long height, ImageLimits limits)
    {
        if (width <= 0 || height <= 0)
        {
            throw Malformed("The image header declares an empty width or height.");
        }

        if (width > limits.MaxSidePixels || height > limits.MaxSidePixels)
        {
            throw new ImageRejectedException(
                ImageRejection.DimensionsTooLarge,
                $"The image is too large: each side may be at most {limits.MaxSidePixels} pixels.");
        }

        if (width * height > limits.MaxPixels)
        {
            throw new ImageRejectedException(
                ImageRejection.DimensionsTooLarge,
                $"The image is too large: at most {limits.MaxPixels} pixels in total are accepted.");
        }
    }

    public static void CheckFrames(long frames, ImageLimits limits)
    {
        if (frames > limits.MaxFrames)
        {
            throw new ImageRejectedException(
                ImageRejection.TooManyFrames,
                $"The animation has more than {limits.MaxFrames} frame(s), the most accepted.");
        }
    }
}
