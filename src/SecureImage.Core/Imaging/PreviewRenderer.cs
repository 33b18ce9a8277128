using System.Buffers.Binary;
using System.Runtime.InteropServices;
using SecureImage.Core.Threading;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Memory;
using SixLabors.ImageSharp.Metadata;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace SecureImage.Core.Imaging;

/// <summary>Settings of <see cref="PreviewRenderer"/>, validated by the host at start-up.</summary>
public sealed record PreviewRendererOptions(int MaxSidePixels, int JpegQuality, int MaxConcurrentDecodes, TimeSpan DecodeTimeout, ImageLimits Limits)
{
    public const int DefaultMaxSidePixels = 1280;
    public const int DefaultJpegQuality = 80;
    public const int DefaultMaxConcurrentDecodes = 2;
    public static readonly TimeSpan DefaultDecodeTimeout = TimeSpan.FromSeconds(30);

    public static PreviewRendererOptions Default { get; } = new(DefaultMaxSidePixels, DefaultJpegQuality, DefaultMaxConcurrentDecodes, DefaultDecodeTimeout, ImageLimits.Default);
}

/// <summary>A rendered preview, in memory only: JPEG or PNG bytes in <see cref="Content"/>, zeroed on dispose.</summary>
public sealed class RenderedPreview(ImageFormat format, int width, int height, MemoryStream content) : IDisposable
{
    public ImageFormat Format { get; } = format;

    public int Width { get; } = width;

    public int Height { get; } = height;

    public MemoryStream Content { get; } = content;

    public void Dispose()
    {
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(Content.GetBuffer());
        Content.Dispose();
    }
}

/// <summary>No preview can be made of the image (its pixels did not decode, or not in time); the original is unaffected.</summary>
public sealed class PreviewUnavailableException : Exception
{
    public PreviewUnavailableException()
        : base("No preview can be made of this image.")
    {
    }

    public PreviewUnavailableException(string message)
        : base(message)
    {
    }

    public PreviewUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Decodes an image the container sanitizer has accepted and renders its preview: upright (the EXIF
/// orientation the sanitizer kept), longest side at most <see cref="PreviewRendererOptions.MaxSidePixels"/>
/// and never enlarged, the first frame of an animation, JPEG, or PNG when a pixel is not opaque, and no
/// metadata. ImageSharp 2.1 carries open advisories, so only the four formats the sanitizer accepts are
/// ever decoded, each by its own decoder (never by detection), with metadata ignored (no EXIF, XMP or ICC
/// parsing), under an allocation limit sized from the pixel limit, a bounded number at a time (<see cref="DeadlineWork"/>:
/// each on its own lowest-priority thread), and a timeout after which the decode is cancelled or abandoned.
/// </summary>
public sealed class PreviewRenderer
{
    /// <summary>
    /// How long a timed-out decode has to stop before it is abandoned. ImageSharp 2.1 looks at its token between stages
    /// (segments, scans, chunks, the pixel conversion), not row by row: measured on a loaded 2-core machine, a 40 MP JPEG
    /// stopped 1.9 s and a 25 MP PNG 1.4 s after the cancellation (of 3 s and 2.1 s for the whole decode).
    /// </summary>
    public static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    private const int BytesPerPixel = 4;

    /// <summary>Decodes of at least this many pixels (12 MiB of RGB) hand their freed memory back to the system after.</summary>
    public const long TrimAfterPixels = 4_000_000;
    private readonly PreviewRendererOptions _options;
    private readonly DeadlineWork _work;
    private readonly Configuration _configuration;

    public PreviewRenderer(PreviewRendererOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;

        // Decodes run at the lowest CPU priority: on a busy instance uploads and downloads keep the cores and
        // previews wait (issue 17: upload throughput with previews on stays that of previews off).
        _work = new DeadlineWork(options.MaxConcurrentDecodes, options.DecodeTimeout, StopGrace, timeProvider, "secureimage-preview-decode");

        // One image's pixels as Rgba32, with room for a JPEG's padding to whole blocks: larger buffers are refused.
        AllocationLimitMegabytes = (int)Math.Min(int.MaxValue, (options.Limits.MaxPixels * BytesPerPixel * 21 / 20 / (1024 * 1024)) + 4);
        _configuration = new Configuration(new JpegConfigurationModule(), new PngConfigurationModule(), new GifConfigurationModule(), new WebpConfigurationModule())
        {
            // No pool: a decode's pixels go back when it ends (or stops for requests), instead of staying with ImageSharp's
            // pool, which keeps up to an eighth of the machine's memory; a decode costs far more than the allocation.
            MemoryAllocator = MemoryAllocator.Create(new MemoryAllocatorOptions { AllocationLimitMegabytes = AllocationLimitMegabytes, MaximumPoolSizeMegabytes = 0 }),
        };
    }

    /// <summary>The largest single buffer ImageSharp may allocate here, in megabytes (for the documentation and tests).</summary>
    public int AllocationLimitMegabytes { get; }

    /// <summary>Decodes running now, abandoned ones included (for diagnostics and tests).</summary>
    public int DecodesRunning => _work.Running;

    /// <summary>Decodes that did not stop after their timeout and no longer hold a slot.</summary>
    public int DecodesAbandoned => _work.Abandoned;

    /// <summary>
    /// A decode slot, to take before preparing the input (decrypting the original), so that at most
    /// <see cref="PreviewRendererOptions.MaxConcurrentDecodes"/> inputs are in memory at once. Dispose it after the render.
    /// </summary>
    public Task<DeadlineWork.Turn> WaitForTurnAsync(CancellationToken cancellationToken) => _work.WaitForTurnAsync(cancellationToken);

    /// <summary>Renders the preview of <paramref name="sanitized"/> (the sanitizer's output, of the given format) in a turn of its own.</summary>
    /// <exception cref="PreviewUnavailableException">The pixels did not decode, broke a limit, or took longer than the decode timeout.</exception>
    public async Task<RenderedPreview> RenderAsync(ReadOnlyMemory<byte> sanitized, ImageFormat format, int width, int height, CancellationToken cancellationToken)
    {
        using var turn = await WaitForTurnAsync(cancellationToken).ConfigureAwait(false);
        return await RenderAsync(turn, sanitized, format, width, height, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Renders in <paramref name="turn"/> (from <see cref="WaitForTurnAsync"/>). After a timeout the decode may still be
    /// reading <paramref name="sanitized"/> for a moment: zero that buffer, but do not hand it to anyone else.
    /// </summary>
    /// <exception cref="PreviewUnavailableException">The pixels did not decode, broke a limit, or took longer than the decode timeout.</exception>
    public async Task<RenderedPreview> RenderAsync(DeadlineWork.Turn turn, ReadOnlyMemory<byte> sanitized, ImageFormat format, int width, int height, CancellationToken cancellationToken)
    {
        if ((long)width * height > _options.Limits.MaxPixels || width > _options.Limits.MaxSidePixels || height > _options.Limits.MaxSidePixels)
        {
            throw new PreviewUnavailableException("The image is larger than the pixel limits.");
        }

        try
        {
            var trimAfter = (long)width * height >= TrimAfterPixels;
            return await _work.RunAsync(turn, token => Render(sanitized, format, trimAfter, token), preview => preview.Dispose(), cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new PreviewUnavailableException("The image did not decode within the decode timeout.", ex);
        }
        catch (Exception ex) when (ex is not (OperationCanceledException or PreviewUnavailableException))
        {
            // ImageSharp's verdicts on broken data (and any fault of its own on hostile data) end here, by type only.
            throw new PreviewUnavailableException("The image could not be decoded.", ex);
        }
    }

    private RenderedPreview Render(ReadOnlyMemory<byte> sanitized, ImageFormat format, bool trimAfter, CancellationToken cancellationToken)
    {
        try
        {
            return RenderPixels(sanitized, format, cancellationToken);
        }
        finally
        {
            // The pixels are freed by now (rendered, failed or stopped): give large ones back rather than leave them with
            // malloc. Small ones are not worth walking every arena for.
            if (trimAfter)
            {
                NativeHeap.Trim();
            }
        }
    }

    private RenderedPreview RenderPixels(ReadOnlyMemory<byte> sanitized, ImageFormat format, CancellationToken cancellationToken)
    {
        using var image = Decode(sanitized, format, cancellationToken, out var orientation);
        cancellationToken.ThrowIfCancellationRequested();
        image.Metadata.ExifProfile = null;
        image.Metadata.XmpProfile = null;
        image.Metadata.IccProfile = null;
        image.Metadata.IptcProfile = null;
        var (rotate, flip) = Transform(orientation);
        var sideways = rotate is RotateMode.Rotate90 or RotateMode.Rotate270;
        var (uprightWidth, uprightHeight) = sideways ? (image.Height, image.Width) : (image.Width, image.Height);
        var (targetWidth, targetHeight) = FitWithin(uprightWidth, uprightHeight, _options.MaxSidePixels);
        image.Mutate(context =>
        {
            if (rotate != RotateMode.None || flip != FlipMode.None)
            {
                context.RotateFlip(rotate, flip);
            }

            if ((targetWidth, targetHeight) != (uprightWidth, uprightHeight))
            {
                context.Resize(targetWidth, targetHeight);
            }
        });
        cancellationToken.ThrowIfCancellationRequested();

        var transparent = image is Image<Rgba32> rgba && HasTransparency(rgba);
        var content = new MemoryStream();
        try
        {
            IImageEncoder encoder = transparent
                ? new PngEncoder { ColorType = PngColorType.RgbWithAlpha, BitDepth = PngBitDepth.Bit8, ChunkFilter = PngChunkFilter.ExcludeAll }
                : new JpegEncoder { Quality = _options.JpegQuality, ColorType = JpegColorType.YCbCrRatio420 };
            image.Save(content, encoder);
            return new RenderedPreview(transparent ? ImageFormat.Png : ImageFormat.Jpeg, image.Width, image.Height, content);
        }
        catch
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(content.GetBuffer());
            content.Dispose();
            throw;
        }
    }

    /// <summary>
    /// JPEG has no alpha: its pixels are decoded as Rgb24, a quarter less memory than Rgba32 (a 25 MP photo
    /// takes 72 MiB instead of 95 while it is resized). The other formats may be transparent and keep Rgba32.
    /// </summary>
    private Image Decode(ReadOnlyMemory<byte> data, ImageFormat format, CancellationToken cancellationToken, out int orientation)
    {
        orientation = 0;
        switch (format)
        {
            case ImageFormat.Jpeg:
                orientation = JpegOrientation(data.Span);
                return Load<Rgb24>(data, new JpegDecoder { IgnoreMetadata = true }, cancellationToken);
            case ImageFormat.Png:
                return Load<Rgba32>(data, new PngDecoder { IgnoreMetadata = true }, cancellationToken);
            case ImageFormat.Gif:
                return Load<Rgba32>(data, new GifDecoder { IgnoreMetadata = true, DecodingMode = FrameDecodingMode.First }, cancellationToken);
            case ImageFormat.WebP:
                return WebPFirstFrame.Find(data.Span) is { } frame
                    ? DecodeWebPFrame(frame, cancellationToken)
                    : Load<Rgba32>(data, new WebpDecoder { IgnoreMetadata = true }, cancellationToken);
            default:
                throw new PreviewUnavailableException("The format is not one the service decodes.");
        }
    }

    /// <summary>Decodes through the decoder's cancellable entry point (Image.Load has none), so a timeout stops the decode itself.</summary>
    private Image<TPixel> Load<TPixel>(ReadOnlyMemory<byte> data, IImageDecoder decoder, CancellationToken cancellationToken)
        where TPixel : unmanaged, IPixel<TPixel>
    {
        byte[]? copy = null;
        if (!MemoryMarshal.TryGetArray(data, out var segment))
        {
            copy = data.ToArray();
            segment = copy;
        }

        try
        {
            using var stream = new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false);
            return decoder.Decode<TPixel>(_configuration, stream, cancellationToken);
        }
        finally
        {
            if (copy is not null)
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(copy);
            }
        }
    }

    /// <summary>ImageSharp 2.1 decodes still WebP only: the first frame's bitstream is decoded as a still and placed on the canvas.</summary>
    private Image<Rgba32> DecodeWebPFrame(WebPFirstFrame frame, CancellationToken cancellationToken)
    {
        using var still = Load<Rgba32>(frame.Still, new WebpDecoder { IgnoreMetadata = true }, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        if ((frame.X, frame.Y, still.Width, still.Height) == (0, 0, frame.CanvasWidth, frame.CanvasHeight))
        {
            return still.Clone();
        }

        var canvas = new Image<Rgba32>(_configuration, frame.CanvasWidth, frame.CanvasHeight, new Rgba32(0, 0, 0, 0));
        canvas.Mutate(context => context.DrawImage(still, new Point(frame.X, frame.Y), 1f));
        return canvas;
    }

    private static bool HasTransparency(Image<Rgba32> image)
    {
        var transparent = false;
        image.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < rows.Height && !transparent; y++)
            {
                foreach (var pixel in rows.GetRowSpan(y))
                {
                    if (pixel.A != byte.MaxValue)
                    {
                        transparent = true;
                        break;
                    }
                }
            }
        });
        return transparent;
    }

    /// <summary>The size that fits within <paramref name="maxSide"/> on both sides, keeping the aspect ratio, never larger than the original.</summary>
    public static (int Width, int Height) FitWithin(int width, int height, int maxSide)
    {
        var longest = Math.Max(width, height);
        if (longest <= maxSide)
        {
            return (width, height);
        }

        var scale = (double)maxSide / longest;
        return (Math.Clamp((int)Math.Round(width * scale), 1, maxSide), Math.Clamp((int)Math.Round(height * scale), 1, maxSide));
    }

    /// <summary>The rotation and flip that turn pixels stored under EXIF orientation 1..8 upright.</summary>
    private static (RotateMode Rotate, FlipMode Flip) Transform(int orientation) => orientation switch
    {
        2 => (RotateMode.None, FlipMode.Horizontal),
        3 => (RotateMode.Rotate180, FlipMode.None),
        4 => (RotateMode.None, FlipMode.Vertical),
        5 => (RotateMode.Rotate90, FlipMode.Horizontal),
        6 => (RotateMode.Rotate90, FlipMode.None),
        7 => (RotateMode.Rotate270, FlipMode.Horizontal),
        8 => (RotateMode.Rotate270, FlipMode.None),
        _ => (RotateMode.None, FlipMode.None),
    };

    /// <summary>The orientation in the sanitized JPEG's one EXIF segment (the sanitizer keeps nothing else there), or 0.</summary>
    private static int JpegOrientation(ReadOnlySpan<byte> jpeg)
    {
        for (var at = 2; at + 4 <= jpeg.Length && jpeg[at] == 0xFF;)
        {
            var marker = jpeg[at + 1];
            if (marker is 0xDA or 0xD9)
            {
                break;
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(jpeg[(at + 2)..]);
            if (length < 2 || at + 2 + length > jpeg.Length)
            {
                break;
            }

            var payload = jpeg.Slice(at + 4, length - 2);
            if (marker == 0xE1 && payload.StartsWith(ExifOrientation.ExifHeader))
            {
                return ExifOrientation.Read(payload);
            }

            at += 2 + length;
        }

        return 0;
    }
}

/// <summary>The first frame of a sanitized animated WebP as a still WebP, with its place on the canvas.</summary>
internal sealed record WebPFirstFrame(byte[] Still, int X, int Y, int CanvasWidth, int CanvasHeight)
{
    private const byte AnimationFlag = 0x02;
    private const byte AlphaFlag = 0x10;

    /// <summary>Null when the WebP is not animated (or has no frame, which the sanitizer does not accept).</summary>
    public static WebPFirstFrame? Find(ReadOnlySpan<byte> webp)
    {
        if (webp.Length < 30 || !webp[12..].StartsWith("VP8X"u8) || (webp[20] & AnimationFlag) == 0)
        {
            return null;
        }

        var (canvasWidth, canvasHeight) = (UInt24(webp[24..]) + 1, UInt24(webp[27..]) + 1);
        foreach (var (fourCc, start, length) in Chunks(webp, 12, webp.Length))
        {
            if (fourCc != "ANMF" || length < 16)
            {
                continue;
            }

            var header = webp.Slice(start, 16);
            var (x, y) = (2 * UInt24(header), 2 * UInt24(header[3..]));
            var (width, height) = (UInt24(header[6..]) + 1, UInt24(header[9..]) + 1);
            var parts = new List<byte[]>();
            var alpha = false;
            foreach (var (inner, innerStart, innerLength) in Chunks(webp, start + 16, start + length))
            {
                if (inner is "ALPH" or "VP8 " or "VP8L")
                {
                    alpha |= inner == "ALPH";
                    parts.Add(webp.Slice(innerStart - 8, 8 + innerLength + (innerLength & 1)).ToArray());
                }
            }

            if (parts.Count == 0)
            {
                return null;
            }

            var body = new List<byte>();
            if (alpha)
            {
                var vp8x = new byte[18];
                "VP8X"u8.CopyTo(vp8x);
                BinaryPrimitives.WriteUInt32LittleEndian(vp8x.AsSpan(4), 10);
                vp8x[8] = AlphaFlag;
                WriteUInt24(vp8x.AsSpan(12), width - 1);
                WriteUInt24(vp8x.AsSpan(15), height - 1);
                body.AddRange(vp8x);
            }

            parts.ForEach(body.AddRange);
            var still = new byte[12 + body.Count];
            "RIFF"u8.CopyTo(still);
            BinaryPrimitives.WriteUInt32LittleEndian(still.AsSpan(4), (uint)(4 + body.Count));
            "WEBP"u8.CopyTo(still.AsSpan(8));
            body.CopyTo(still, 12);
            return new WebPFirstFrame(still, x, y, canvasWidth, canvasHeight);
        }

        return null;
    }

    /// <summary>The chunks between <paramref name="from"/> and <paramref name="end"/>: four-cc, payload start and payload length.</summary>
    private static List<(string FourCc, int Start, int Length)> Chunks(ReadOnlySpan<byte> data, int from, int end)
    {
        var chunks = new List<(string, int, int)>();
        for (var at = from; at + 8 <= end;)
        {
            var length = BinaryPrimitives.ReadUInt32LittleEndian(data[(at + 4)..]);
            if (length > (uint)(end - at - 8))
            {
                break;
            }

            chunks.Add((System.Text.Encoding.ASCII.GetString(data.Slice(at, 4)), at + 8, (int)length));
            at += 8 + (int)length + (int)(length & 1);
        }

        return chunks;
    }

    private static int UInt24(ReadOnlySpan<byte> bytes) => bytes[0] | (bytes[1] << 8) | (bytes[2] << 16);

    private static void WriteUInt24(Span<byte> bytes, int value) => (bytes[0], bytes[1], bytes[2]) = ((byte)value, (byte)(value >> 8), (byte)(value >> 16));
}
