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

    /// <summary>Decodes running at once on this instance (background pass and on-the-spot previews together); others wait, before decrypting.</summary>
    [Range(1, 64)]
    public int MaxConcurrentDecodes { get; set; } = PreviewRendererOptions.DefaultMaxConcurrentDecodes;

    /// <summary>A decode that takes longer marks the preview unavailable.</summary>
    public TimeSpan DecodeTimeout { get; set; } = PreviewRendererOptions.DefaultDecodeTimeout;

    /// <summary>Make each image's preview in the background after its upload commits (else it is made at the first preview request).</summary>
    public bool PreviewOnUpload { get; set; } = true;

    /// <summary>
    /// Background previews wait while client requests are in flight, at most this long after the upload; then they are
    /// made anyway (at the lowest CPU priority). Zero: never deferred.
    /// </summary>
    public TimeSpan PreviewMaxDeferral { get; set; } = DefaultPreviewMaxDeferral;

    public static readonly TimeSpan DefaultPreviewMaxDeferral = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How often the Hangfire recurring job <c>preview-pass</c> looks for images without a preview (stored by another
    /// instance, or left by a stopped process); an upload on this instance triggers it at once.
    /// </summary>
    public TimeSpan PreviewPassInterval { get; set; } = TimeSpan.FromMinutes(1);
}

internal sealed class ValidateImagingOptions : IValidateOptions<ImagingOptions>
{
    public static readonly TimeSpan MaxDecodeTimeout = TimeSpan.FromMinutes(5);

    /// <summary>Links live 10 minutes and bots ask for previews soon after the upload: a longer deferral is more likely a unit slip.</summary>
    public static readonly TimeSpan MaxPreviewMaxDeferral = TimeSpan.FromHours(1);

    public ValidateOptionsResult Validate(string? name, ImagingOptions options)
    {
        var failures = new List<string>();
        if (options.DecodeTimeout < TimeSpan.FromSeconds(1) || options.DecodeTimeout > MaxDecodeTimeout)
        {
            failures.Add("SecureImage:Imaging:DecodeTimeout must be between 00:00:01 and 00:05:00.");
        }

        if (options.PreviewMaxDeferral < TimeSpan.Zero || options.PreviewMaxDeferral > MaxPreviewMaxDeferral)
        {
            failures.Add("SecureImage:Imaging:PreviewMaxDeferral must be between 00:00:00 and 01:00:00.");
        }

        if (Jobs.JobSchedule.CronFor(options.PreviewPassInterval) is null)
        {
            failures.Add($"SecureImage:Imaging:PreviewPassInterval must be {Jobs.JobSchedule.AllowedIntervals}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
