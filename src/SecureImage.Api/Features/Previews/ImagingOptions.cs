using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using SecureImage.Core.Imaging;

namespace SecureImage.Api.Features.Previews;

/// <summary>Preview renditions (SecureImage:Imaging). Every value is validated at start-up.</summary>
internal sealed class ImagingOptions
{
    public const string Section = "Imaging";

    /// <summary>The preview's longest side; smaller images keep their size (never enlarged).</summary>
    [Range(16, 8192)]
    public int PreviewMaxSidePixels { get; set; } = PreviewRendererOptions.DefaultMaxSidePixels;

    /// <summary>JPEG quality of photo previews (PNG, lossless, where the source has transparency).</summary>
    [Range(1, 100)]
    public int PreviewJpegQuality { get; set; } = PreviewRendererOptions.DefaultJpegQuality;

    /// <summary>Decodes running at once on this instance (jobs and on-the-spot previews together); others wait.</summary>
    [Range(1, 64)]
    public int MaxConcurrentDecodes { get; set; } = PreviewRendererOptions.DefaultMaxConcurrentDecodes;

    /// <summary>A decode that takes longer marks the preview unavailable.</summary>
    public TimeSpan DecodeTimeout { get; set; } = PreviewRendererOptions.DefaultDecodeTimeout;

    /// <summary>Queue a background job for the preview right after each upload commits (else it is made at the first preview request).</summary>
    public bool PreviewOnUpload { get; set; } = true;
}

internal sealed class ValidateImagingOptions : IValidateOptions<ImagingOptions>
{
    public static readonly TimeSpan MaxDecodeTimeout = TimeSpan.FromMinutes(5);

    public ValidateOptionsResult Validate(string? name, ImagingOptions options) =>
        options.DecodeTimeout < TimeSpan.FromSeconds(1) || options.DecodeTimeout > MaxDecodeTimeout
            ? ValidateOptionsResult.Fail("SecureImage:Imaging:DecodeTimeout must be between 00:00:01 and 00:05:00.")
            : ValidateOptionsResult.Success;
}
