using SecureImage.Core.Imaging;
using SecureImage.Core.Threading;
using SecureImage.Core.Tests.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static SecureImage.Core.Tests.Imaging.FormatFixtures;
using ControlledClock = Microsoft.Extensions.Time.Testing.FakeTimeProvider;

namespace SecureImage.Core.Tests.Previews;

public sealed class PreviewRendererTests
{
    private readonly PreviewRenderer _renderer = new(PreviewRendererOptions.Default, TimeProvider.System);

    [Fact]
    public async Task An_animated_webp_renders_its_first_frame_only()
    {
        var (_, animation) = await Sanitize.BytesAsync(RealImages.AnimatedWebP(3));
        var (_, firstOnly) = await Sanitize.BytesAsync(RealImages.AnimatedWebP(1));
        var frames = RealImages.RiffChunks(animation).Where(chunk => chunk.FourCc == "ANMF").ToArray();
        var secondFirst = WebP([.. RealImages.RiffChunks(animation).Select(chunk =>
            chunk.Start == frames[0].Start ? animation[frames[1].Start..(frames[1].Start + frames[1].Length)] : animation[chunk.Start..(chunk.Start + chunk.Length)])]);

        var preview = await RenderBytesAsync(animation, ImageFormat.WebP, 10, 8);

        Assert.Equal(await RenderBytesAsync(firstOnly, ImageFormat.WebP, 10, 8), preview);
        Assert.NotEqual(await RenderBytesAsync(secondFirst, ImageFormat.WebP, 10, 8), preview);
        using var image = Image.Load<Rgba32>(preview);
        Assert.Equal((10, 8, 1), (image.Width, image.Height, image.Frames.Count));
    }

    [Fact]
    public async Task A_small_image_is_never_enlarged_and_an_opaque_one_becomes_a_jpeg()
    {
        var (_, png) = await Sanitize.BytesAsync(RealImages.Png(SixLabors.ImageSharp.Formats.Png.PngColorType.Rgb, width: 12, height: 9));

        using var preview = await _renderer.RenderAsync(png, ImageFormat.Png, 12, 9, CancellationToken.None);

        Assert.Equal((ImageFormat.Jpeg, 12, 9), (preview.Format, preview.Width, preview.Height));
        Assert.True(preview.Content.ToArray().AsSpan().StartsWith(new byte[] { 0xFF, 0xD8 }));
    }

    [Fact]
    public async Task A_large_render_that_ends_and_one_that_fails_each_hand_the_native_memory_they_freed_back()
    {
        // ImageSharp's pixels live in native memory, which glibc would otherwise keep after they are freed.
        Assert.True(OperatingSystem.IsLinux(), "the service runs on Linux (glibc), where trimming applies");
        var (_, jpeg) = await Sanitize.BytesAsync(RealImages.Jpeg(2000, 2000));
        var before = NativeHeap.Trims;

        using (await _renderer.RenderAsync(jpeg, ImageFormat.Jpeg, 2000, 2000, CancellationToken.None))
        {
        }

        var afterRender = NativeHeap.Trims;
        await Assert.ThrowsAsync<PreviewUnavailableException>(() => _renderer.RenderAsync(new byte[] { 0xFF, 0xD8, 0xFF, 0xD9 }, ImageFormat.Jpeg, 2000, 2000, CancellationToken.None));

        Assert.True(afterRender > before, "no trim after a render");
        Assert.True(NativeHeap.Trims > afterRender, "no trim after a failed render");
    }

    [Theory]
    [InlineData(4000, 3000, 1280, 960)]
    [InlineData(1000, 5000, 256, 1280)]
    [InlineData(1280, 1280, 1280, 1280)]
    [InlineData(5000, 1, 1280, 1)]
    public void The_fitted_size_keeps_the_aspect_ratio_within_the_longest_side(int width, int height, int expectedWidth, int expectedHeight) =>
        Assert.Equal((expectedWidth, expectedHeight), PreviewRenderer.FitWithin(width, height, 1280));

    [Fact]
    public async Task A_decode_that_needs_more_memory_than_the_pixel_limit_allows_is_refused_by_the_allocator()
    {
        // The catalog's dimensions are checked first; here they understate the image, as a lie in a container could,
        // so only the allocation limit (sized from 100 pixels: the 4 MiB floor) stands between the decoder and 16 MB.
        var renderer = new PreviewRenderer(PreviewRendererOptions.Default with { Limits = new ImageLimits(100, 100, 1) }, TimeProvider.System);
        var (_, png) = await Sanitize.BytesAsync(RealImages.Png(SixLabors.ImageSharp.Formats.Png.PngColorType.Rgb, width: 2000, height: 2000));

        var refusal = await Assert.ThrowsAsync<PreviewUnavailableException>(() => renderer.RenderAsync(png, ImageFormat.Png, 10, 10, CancellationToken.None));

        var causes = new List<Exception>();
        for (var cause = refusal.InnerException; cause is not null; cause = cause.InnerException)
        {
            causes.Add(cause);
        }

        Assert.Contains(causes, cause => cause is SixLabors.ImageSharp.Memory.InvalidMemoryOperationException);
        Assert.Equal(4, renderer.AllocationLimitMegabytes);
    }

    [Fact]
    public async Task Dimensions_beyond_the_pixel_limits_are_refused_before_any_decode()
    {
        var renderer = new PreviewRenderer(PreviewRendererOptions.Default with { Limits = new ImageLimits(100, 100, 1) }, TimeProvider.System);

        var refusal = await Assert.ThrowsAsync<PreviewUnavailableException>(() => renderer.RenderAsync(new byte[16], ImageFormat.Png, 11, 10, CancellationToken.None));

        Assert.Null(refusal.InnerException);
    }

    [Fact]
    public async Task Data_that_does_not_decode_is_unavailable_whatever_the_decoder_throws()
    {
        var (_, jpeg) = await Sanitize.BytesAsync(Corpus.Read("jpg_Canon_40D.jpg"));

        await Assert.ThrowsAsync<PreviewUnavailableException>(() => _renderer.RenderAsync(jpeg.AsMemory(0, 200), ImageFormat.Jpeg, 100, 68, CancellationToken.None));
        await Assert.ThrowsAsync<PreviewUnavailableException>(() => _renderer.RenderAsync(jpeg, ImageFormat.Png, 100, 68, CancellationToken.None));
        await Assert.ThrowsAsync<PreviewUnavailableException>(() => _renderer.RenderAsync(jpeg, (ImageFormat)42, 100, 68, CancellationToken.None));
    }

    [Fact]
    public async Task A_decode_still_running_at_its_timeout_is_stopped_frees_its_slot_and_the_next_decode_runs()
    {
        var clock = new ControlledClock();
        var renderer = new PreviewRenderer(PreviewRendererOptions.Default with { MaxConcurrentDecodes = 1 }, clock);
        var large = RealImages.Jpeg(4000, 3000);
        var (_, small) = await Sanitize.BytesAsync(RealImages.Png(SixLabors.ImageSharp.Formats.Png.PngColorType.Rgb, width: 12, height: 9));

        // The clock moves only when told: the timeout comes while the 12 MP decode is surely under way.
        var render = renderer.RenderAsync(large, ImageFormat.Jpeg, 4000, 3000, CancellationToken.None);
        await EventuallyAsync(() => renderer.DecodesRunning == 1);
        clock.Advance(PreviewRendererOptions.DefaultDecodeTimeout);

        var refusal = await Assert.ThrowsAsync<PreviewUnavailableException>(() => render.WaitAsync(TimeSpan.FromMinutes(1)));
        Assert.IsType<TimeoutException>(refusal.InnerException);

        // ImageSharp saw the cancellation and stopped within the grace (the fake clock never reached it): nothing abandoned.
        await EventuallyAsync(() => renderer.DecodesRunning == 0);
        Assert.Equal(0, renderer.DecodesAbandoned);

        // The only slot is free again: the next image renders, the clock still.
        using var next = await renderer.RenderAsync(small, ImageFormat.Png, 12, 9, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal((12, 9), (next.Width, next.Height));
    }

    private static async Task EventuallyAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition never held");
            await Task.Delay(5);
        }
    }

    private async Task<byte[]> RenderBytesAsync(byte[] sanitized, ImageFormat format, int width, int height)
    {
        using var preview = await _renderer.RenderAsync(sanitized, format, width, height, CancellationToken.None);
        return preview.Content.ToArray();
    }
}
