namespace SecureImage.Core.Imaging;

/// <summary>Security limits checked from an image's header before its body is read further.</summary>
/// <param name="MaxPixels">Largest width × height accepted (the decompression-bomb guard).</param>
/// <param name="MaxSidePixels">Largest width or height accepted.</param>
/// <param name="MaxFrames">Largest number of frames in an animation; 1 refuses every animation.</param>
public sealed record ImageLimits(long MaxPixels, int MaxSidePixels, int MaxFrames)
{
    public static ImageLimits Default { get; } = new(MaxPixels: 40_000_000, MaxSidePixels: 20_000, MaxFrames: 100);
}
