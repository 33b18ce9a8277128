using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using SecureImage.Api.Tests.TestSupport;
using SecureImage.Core.Blobs;
using SecureImage.Core.Catalog;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace SecureImage.Api.Tests;

public sealed record PreviewLinkBody(string Url, DateTimeOffset ExpiresAt, string Variant);

/// <summary>
/// Preview links over HTTP. The background pass is off here (Imaging:PreviewOnUpload=false, also the test host's
/// default), so every preview is made on the spot by the request; the tests with "background pass" in their names turn it on.
/// </summary>
public sealed class PreviewTests : IDisposable
{
    private static readonly Dictionary<string, string?> OnTheSpot = new() { ["SecureImage:Imaging:PreviewOnUpload"] = "false" };
    // The recurring occurrence once a day (at midnight UTC): the runs these tests see are the ones uploads queued.
    private static readonly Dictionary<string, string?> Background = new()
    {
        ["SecureImage:Imaging:PreviewOnUpload"] = "true",
        ["SecureImage:Imaging:PreviewPassInterval"] = "1.00:00:00",
    };
    private readonly List<string> _sharedDirectories = [];
    private readonly SecureImageFactory _factory = new("Testing", OnTheSpot);

    public void Dispose()
    {
        _factory.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var directory in _sharedDirectories)
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData("jpg_orientation_landscape_6.jpg", 600, 450)]
    [InlineData("jpg_orientation_portrait_8.jpg", 450, 600)]
    public async Task A_preview_of_a_rotated_jpeg_is_an_upright_jpeg_without_metadata(string name, int width, int height)
    {
        var original = Corpus.Read(name);

        var preview = await UploadAndFetchPreviewAsync(original);

        Assert.Equal("image/jpeg", preview.ContentType);
        using var image = Image.Load<Rgba32>(preview.Bytes);
        Assert.Equal((width, height), (image.Width, image.Height));
        await AssertNoMetadataAsync(preview.Bytes);

        // Upright: close to ImageSharp's own orientation of the original, far from the other way round.
        using var reference = Image.Load<Rgba32>(original);
        reference.Mutate(context => context.AutoOrient());
        using var upsideDown = reference.Clone(context => context.Rotate(RotateMode.Rotate180));
        var difference = MeanDifference(image, reference);
        Assert.True(difference < 8, $"mean difference {difference} from the upright original");
        Assert.True(difference * 4 < MeanDifference(image, upsideDown), "the preview is no closer to upright than to upside down");
    }

    [Fact]
    public async Task A_preview_of_a_large_photo_is_at_most_1280_pixels_on_its_longest_side()
    {
        var photo = Encode(Gradient(3000, 2000, opaque: true), new JpegEncoder { Quality = 90 });

        var preview = await UploadAndFetchPreviewAsync(photo);

        using var image = Image.Load<Rgba32>(preview.Bytes);
        Assert.Equal((1280, 853), (image.Width, image.Height));
        Assert.Equal("image/jpeg", preview.ContentType);
    }

    [Fact]
    public async Task A_preview_of_a_png_with_alpha_is_a_png_that_keeps_its_transparency()
    {
        var png = Encode(Gradient(400, 300, opaque: false), new PngEncoder { ColorType = PngColorType.RgbWithAlpha });

        var preview = await UploadAndFetchPreviewAsync(png);

        Assert.Equal("image/png", preview.ContentType);
        using var image = Image.Load<Rgba32>(preview.Bytes);
        Assert.Equal((400, 300), (image.Width, image.Height));
        Assert.Equal(0, image[0, 0].A);
        Assert.Equal(255, image[399, 299].A);
        await AssertNoMetadataAsync(preview.Bytes);
    }

    [Fact]
    public async Task A_preview_of_an_animated_gif_is_its_first_frame_only()
    {
        var gif = Corpus.Read("gif_anim_comment.gif");

        var preview = await UploadAndFetchPreviewAsync(gif);

        using var image = Image.Load<Rgba32>(preview.Bytes);
        using var animation = Image.Load<Rgba32>(gif);
        using var first = animation.Frames.CloneFrame(0);
        using var second = animation.Frames.CloneFrame(1);
        Assert.Single(image.Frames);
        Assert.Equal((first.Width, first.Height), (image.Width, image.Height));
        // A palette image through JPEG keeps its picture, not its dither: near the first frame, far from the second.
        var difference = MeanDifference(image, first);
        Assert.True(difference < 16, $"mean difference {difference} from the first frame ({preview.ContentType})");
        Assert.True(difference * 2 < MeanDifference(image, second), "the preview is no closer to the first frame than to the second");
        await AssertNoMetadataAsync(preview.Bytes);
    }

    [Fact]
    public async Task A_preview_of_a_webp_is_a_jpeg_of_the_same_size_without_metadata()
    {
        var webp = Corpus.Read("webp_gps_xmp.webp");

        var preview = await UploadAndFetchPreviewAsync(webp);

        Assert.Equal("image/jpeg", preview.ContentType);
        using var image = Image.Load<Rgba32>(preview.Bytes);
        using var reference = Image.Load<Rgba32>(webp);
        Assert.Equal((reference.Width, reference.Height), (image.Width, image.Height));
        Assert.True(MeanDifference(image, reference) < 8);
        await AssertNoMetadataAsync(preview.Bytes);
    }

    [Fact]
    public async Task The_link_answer_names_its_variant_and_an_empty_body_still_means_the_original()
    {
        var client = _factory.CreateBotClient();
        var uploaded = await client.UploadOkAsync(await client.CreateConsentAsync(), Corpus.Read("jpg_Canon_40D.jpg"));

        var original = await client.PostAsync($"/v1/images/{uploaded.Id}/links", null);
        var named = await client.PostAsJsonAsync($"/v1/images/{uploaded.Id}/links", new { variant = "original" });
        var preview = await client.PostAsJsonAsync($"/v1/images/{uploaded.Id}/links", new { variant = "preview" });

        Assert.Equal("original", (await original.Content.ReadFromJsonAsync<PreviewLinkBody>())!.Variant);
        var namedLink = (await named.Content.ReadFromJsonAsync<PreviewLinkBody>())!;
        Assert.Equal("original", namedLink.Variant);
        Assert.DoesNotContain("variant", namedLink.Url, StringComparison.Ordinal);
        var previewLink = (await preview.Content.ReadFromJsonAsync<PreviewLinkBody>())!;
        Assert.Equal("preview", previewLink.Variant);
        Assert.EndsWith("&variant=preview", previewLink.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_variant_or_a_body_that_is_not_json_is_refused()
    {
        var client = _factory.CreateBotClient();
        var uploaded = await client.UploadOkAsync(await client.CreateConsentAsync(), Corpus.Read("jpg_Canon_40D.jpg"));

        await (await client.PostAsJsonAsync($"/v1/images/{uploaded.Id}/links", new { variant = "thumbnail" })).AssertProblemAsync(HttpStatusCode.BadRequest, "bad-request");
        await (await client.PostAsJsonAsync($"/v1/images/{uploaded.Id}/links", new { variant = 1 })).AssertProblemAsync(HttpStatusCode.BadRequest, "bad-request");
        await (await client.PostAsync($"/v1/images/{uploaded.Id}/links", new StringContent("preview", Encoding.UTF8, "text/plain"))).AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
    }

    [Fact]
    public async Task Changing_the_variant_of_a_link_answers_the_one_403_link_invalid()
    {
        var client = _factory.CreateBotClient();
        var uploaded = await client.UploadOkAsync(await client.CreateConsentAsync(), Corpus.Read("jpg_Canon_40D.jpg"));
        var preview = ApiClient.PathOf((await IssuePreviewLinkAsync(client, uploaded.Id)).Url);
        var original = ApiClient.PathOf(uploaded.Link.Url);
        var anonymous = _factory.CreateAnonymousClient();
        var forged = await anonymous.GetAsync(original.Replace("sig=", "sig=x", StringComparison.Ordinal));
        var forgedProblem = await forged.AssertProblemAsync(HttpStatusCode.Forbidden, "link-invalid");

        foreach (var tampered in new[]
        {
            preview.Replace("&variant=preview", "", StringComparison.Ordinal),
            preview.Replace("variant=preview", "variant=original", StringComparison.Ordinal),
            preview.Replace("variant=preview", "variant=Preview", StringComparison.Ordinal),
            preview + "&variant=preview",
            original + "&variant=preview",
            original + "&variant=original",
            original + "&variant=",
        })
        {
            var response = await anonymous.GetAsync(tampered);
            Assert.Equal(forgedProblem, await response.AssertProblemAsync(HttpStatusCode.Forbidden, "link-invalid"));
        }

        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(preview)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(original)).StatusCode);
    }

    [Fact]
    public async Task A_preview_link_of_an_erased_image_answers_410_and_both_blobs_are_gone()
    {
        var client = _factory.CreateBotClient();
        var uploaded = await client.UploadOkAsync(await client.CreateConsentAsync(), Corpus.Read("jpg_gps_DSCN0010.jpg"));
        var preview = ApiClient.PathOf((await IssuePreviewLinkAsync(client, uploaded.Id)).Url);
        var anonymous = _factory.CreateAnonymousClient();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(preview)).StatusCode);
        Assert.Equal(2, BlobFiles().Count);

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/images/{uploaded.Id}")).StatusCode);

        await (await anonymous.GetAsync(preview)).AssertProblemAsync(HttpStatusCode.Gone, "image-gone");
        Assert.Empty(BlobFiles());
        var image = await _factory.Services.GetRequiredService<IImageCatalog>().FindImageAsync(uploaded.Id, CancellationToken.None);
        Assert.Null(image!.Preview!.WrappedKey);
    }

    [Fact]
    public async Task A_preview_link_answers_410_once_the_consent_is_withdrawn_even_before_the_preview_was_made()
    {
        var client = _factory.CreateBotClient();
        var consentId = await client.CreateConsentAsync();
        var uploaded = await client.UploadOkAsync(consentId, Corpus.Read("jpg_gps_DSCN0010.jpg"));
        var preview = ApiClient.PathOf((await IssuePreviewLinkAsync(client, uploaded.Id)).Url);

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/consents/{consentId}")).StatusCode);

        await (await _factory.CreateAnonymousClient().GetAsync(preview)).AssertProblemAsync(HttpStatusCode.Gone, "image-gone");
        Assert.Empty(BlobFiles());
    }

    [Fact]
    public async Task A_preview_link_of_a_held_image_answers_451_like_the_original()
    {
        var client = _factory.CreateBotClient();
        var uploaded = await client.UploadOkAsync(await client.CreateConsentAsync(), Corpus.Read("jpg_gps_DSCN0010.jpg"));
        var preview = ApiClient.PathOf((await IssuePreviewLinkAsync(client, uploaded.Id)).Url);
        var anonymous = _factory.CreateAnonymousClient();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(preview)).StatusCode);

        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsJsonAsync($"/v1/images/{uploaded.Id}/reports", new { reason = "privacy" })).StatusCode);

        await (await anonymous.GetAsync(preview)).AssertProblemAsync(HttpStatusCode.UnavailableForLegalReasons, "image-blocked");
        await (await anonymous.GetAsync(ApiClient.PathOf(uploaded.Link.Url))).AssertProblemAsync(HttpStatusCode.UnavailableForLegalReasons, "image-blocked");

        // Held: the erase waits, and both blobs stay.
        Assert.Equal(HttpStatusCode.Accepted, (await client.DeleteAsync($"/v1/images/{uploaded.Id}")).StatusCode);
        Assert.Equal(2, BlobFiles().Count);
    }

    [Fact]
    public async Task A_preview_download_whose_audit_record_fails_answers_503_and_gives_its_blob_back()
    {
        var opened = new ConcurrentBag<TrackedStream>();
        using var factory = new SecureImageFactory("Testing", OnTheSpot, services: services =>
        {
            var original = services.Single(d => d.ServiceType == typeof(IBlobStore));
            services.Remove(original);
            services.AddSingleton<IBlobStore>(sp => new TrackingDownloads((IBlobStore)original.ImplementationFactory!(sp), opened));
        });
        var client = factory.CreateBotClient();
        var uploaded = await client.UploadOkAsync(await client.CreateConsentAsync(), Corpus.Read("jpg_gps_DSCN0010.jpg"));
        var preview = ApiClient.PathOf((await IssuePreviewLinkAsync(client, uploaded.Id)).Url);
        var anonymous = factory.CreateAnonymousClient();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(preview)).StatusCode);

        // The preview's download record is written after its blob is opened: make that write fail.
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(factory.DataDirectory, "catalog.db")}"))
        {
            await connection.OpenAsync();
            await using var trigger = connection.CreateCommand();
            trigger.CommandText = $"CREATE TRIGGER fail_downloads BEFORE INSERT ON audit_events WHEN NEW.kind = '{AuditKinds.ImageDownloaded}' BEGIN SELECT RAISE(ABORT, 'audit refused'); END;";
            await trigger.ExecuteNonQueryAsync();
        }

        await (await anonymous.GetAsync(preview)).AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "service-unavailable");

        // The blob was opened for the failed request too, and every stream handed out is closed again
        // (on Azure an undisposed one would keep its pooled connection).
        Assert.True(opened.Count >= 3, $"{opened.Count} downloads were opened");
        Assert.All(opened, stream => Assert.True(stream.Disposed, "a blob download stream was left open"));
    }

    [Fact]
    public async Task Preview_bytes_never_reach_the_disk_in_plaintext()
    {
        var samples = new List<byte[]>();
        foreach (var name in new[] { "jpg_gps_DSCN0010.jpg", "png_text_gps_xmp.png", "jpg_orientation_landscape_6.jpg" })
        {
            var preview = await UploadAndFetchPreviewAsync(Corpus.Read(name));
            for (var offset = Math.Min(1024, preview.Bytes.Length / 2); offset + 32 <= preview.Bytes.Length; offset += 2048)
            {
                samples.Add(preview.Bytes.AsSpan(offset, 32).ToArray());
            }
        }

        Assert.NotEmpty(samples);
        var files = Directory.EnumerateFiles(_factory.DataDirectory, "*", SearchOption.AllDirectories).ToList();
        Assert.Equal(6, BlobFiles().Count);
        foreach (var file in files.Concat(Directory.EnumerateFiles(Path.GetTempPath(), "ASPNETCORE_*", SearchOption.TopDirectoryOnly)))
        {
            var bytes = await File.ReadAllBytesAsync(file);
            Assert.All(samples, sample => Assert.True(bytes.AsSpan().IndexOf(sample) < 0, $"{Path.GetFileName(file)} holds plaintext preview bytes"));
        }
    }

    [Fact]
    public async Task An_image_the_sanitizer_accepts_but_that_does_not_decode_has_no_preview_and_its_original_still_works()
    {
        var broken = PngWithUndecodableData();
        var client = _factory.CreateBotClient();
        var uploaded = await client.UploadOkAsync(await client.CreateConsentAsync(), broken);
        var anonymous = _factory.CreateAnonymousClient();
        var preview = ApiClient.PathOf((await IssuePreviewLinkAsync(client, uploaded.Id)).Url);

        await (await anonymous.GetAsync(preview)).AssertProblemAsync(HttpStatusCode.NotFound, "preview-unavailable");

        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(ApiClient.PathOf(uploaded.Link.Url))).StatusCode);
        await (await client.PostAsJsonAsync($"/v1/images/{uploaded.Id}/links", new { variant = "preview" })).AssertProblemAsync(HttpStatusCode.NotFound, "preview-unavailable");
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync($"/v1/images/{uploaded.Id}/links", null)).StatusCode);
        Assert.Single(BlobFiles());
    }

    [Fact]
    public async Task Concurrent_first_requests_for_one_preview_all_get_the_one_stored_preview()
    {
        var client = _factory.CreateBotClient();
        var uploaded = await client.UploadOkAsync(await client.CreateConsentAsync(), Corpus.Read("jpg_orientation_portrait_8.jpg"));
        var preview = ApiClient.PathOf((await IssuePreviewLinkAsync(client, uploaded.Id)).Url);
        var anonymous = _factory.CreateAnonymousClient();

        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => anonymous.GetAsync(preview)));

        Assert.All(responses, response => Assert.Equal(HttpStatusCode.OK, response.StatusCode));
        var bodies = await Task.WhenAll(responses.Select(response => response.Content.ReadAsByteArrayAsync()));
        Assert.All(bodies, body => Assert.Equal(bodies[0], body));
        Assert.Equal(2, BlobFiles().Count);
    }

    [Fact]
    public async Task An_upload_queues_the_preview_pass_as_a_Hangfire_job_that_carries_nothing_and_it_makes_the_preview()
    {
        using var factory = new SecureImageFactory("Testing", Background);
        var client = factory.CreateBotClient();
        var uploaded = await client.UploadOkAsync(await client.CreateConsentAsync(), Corpus.Read("jpg_gps_DSCN0010.jpg"));

        var image = await WaitForPreviewStateAsync(factory, uploaded.Id);

        Assert.Equal(PreviewState.Ready, image.PreviewState);
        Assert.Equal(("image/jpeg", 640, 480), (image.Preview!.ContentType, image.Preview.Width, image.Preview.Height));

        // The recurring job, on the dashboard like the retention jobs, and the run the upload queued: no image id, no argument.
        var storage = factory.Services.GetRequiredService<Hangfire.JobStorage>();
        using (var connection = storage.GetConnection())
        {
            var recurring = Hangfire.Storage.StorageConnectionExtensions.GetRecurringJobs(connection, [SecureImage.Core.Retention.JobNames.PreviewPass]).Single();
            Assert.Equal("0 0 * * *", recurring.Cron);
            Assert.Equal(typeof(SecureImage.Api.Features.Previews.PreviewPassJob), recurring.Job.Type);
        }

        var runs = await PreviewPassJobsAsync(storage, expectAtLeast: 1);
        Assert.All(runs, job => Assert.All(job.Args, argument => Assert.True(argument is null or CancellationToken, $"argument {argument}")));
        Assert.DoesNotContain(runs, job => Newtonsoft.Json.JsonConvert.SerializeObject(job.Args).Contains(uploaded.Id.ToString(), StringComparison.OrdinalIgnoreCase));

        var link = await IssuePreviewLinkAsync(client, uploaded.Id);
        var response = await factory.CreateAnonymousClient().GetAsync(ApiClient.PathOf(link.Url));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(image.Preview.Bytes, (await response.Content.ReadAsByteArrayAsync()).Length);
    }

    [Fact]
    public async Task With_previews_only_on_request_no_preview_pass_job_is_registered_or_queued()
    {
        using var factory = new SecureImageFactory("Testing", OnTheSpot);
        var client = factory.CreateBotClient();
        var uploaded = await client.UploadOkAsync(await client.CreateConsentAsync(), Corpus.Read("jpg_gps_DSCN0010.jpg"));
        await Task.Delay(TimeSpan.FromSeconds(1));

        var storage = factory.Services.GetRequiredService<Hangfire.JobStorage>();
        using (var connection = storage.GetConnection())
        {
            Assert.DoesNotContain(Hangfire.Storage.StorageConnectionExtensions.GetRecurringJobs(connection, [SecureImage.Core.Retention.JobNames.PreviewPass]), job => job.Job is not null);
        }

        Assert.Empty(await PreviewPassJobsAsync(storage, expectAtLeast: 0));
        Assert.Null((await factory.Services.GetRequiredService<IImageCatalog>().FindImageAsync(uploaded.Id, CancellationToken.None))!.PreviewState);
    }

    [Fact]
    public async Task A_preview_not_made_before_the_process_stopped_is_made_by_the_next_process()
    {
        var shared = SharedDataDirectory();
        Guid imageId;
        using (var first = new SecureImageFactory("Testing", new Dictionary<string, string?>(shared) { ["SecureImage:Imaging:PreviewOnUpload"] = "false" }))
        {
            var client = first.CreateBotClient();
            imageId = (await client.UploadOkAsync(await client.CreateConsentAsync(), Corpus.Read("jpg_Canon_40D.jpg"))).Id;
        }

        using var second = new SecureImageFactory("Testing", new Dictionary<string, string?>(shared) { ["SecureImage:Imaging:PreviewOnUpload"] = "true" });

        // Nothing asks for it: the next process's pass finds it in the catalog at start-up.
        Assert.Equal(PreviewState.Ready, (await WaitForPreviewStateAsync(second, imageId)).PreviewState);
    }

    [Fact]
    public async Task The_background_pass_waits_while_a_client_request_is_in_flight_and_makes_the_preview_after_it()
    {
        using var factory = new SecureImageFactory("Testing", Background);
        var client = factory.CreateBotClient();
        var consentId = await client.CreateConsentAsync();
        var catalog = factory.Services.GetRequiredService<IImageCatalog>();

        // An upload whose body has not arrived yet: a client request in flight for as long as the test says.
        var body = new System.IO.Pipelines.Pipe();
        var slow = new StreamContent(body.Reader.AsStream());
        slow.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse("multipart/form-data; boundary=slow");
        var inFlight = client.PostAsync("/v1/images", slow);
        var activity = factory.Services.GetRequiredService<SecureImage.Api.Jobs.RequestActivity>();
        await Kakao.KakaoTestHost.EventuallyAsync(() => Task.FromResult(activity.RequestsInFlight == 1));

        var uploaded = await client.UploadOkAsync(consentId, Corpus.Read("jpg_gps_DSCN0010.jpg"));
        var storage = factory.Services.GetRequiredService<Hangfire.JobStorage>();
        await PreviewPassJobsAsync(storage, expectAtLeast: 1);

        // More uploads while the pass waits: they join the queued pass, they do not queue one each.
        var more = new List<Guid>();
        for (var i = 0; i < 4; i++)
        {
            more.Add((await client.UploadOkAsync(consentId, Corpus.Read("jpg_Canon_40D.jpg"))).Id);
        }

        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Null((await catalog.FindImageAsync(uploaded.Id, CancellationToken.None))!.PreviewState);
        Assert.Single(await PreviewPassJobsAsync(storage, expectAtLeast: 1));

        await body.Writer.CompleteAsync();
        Assert.Equal(HttpStatusCode.BadRequest, (await inFlight).StatusCode);
        Assert.Equal(PreviewState.Ready, (await WaitForPreviewStateAsync(factory, uploaded.Id)).PreviewState);
        foreach (var id in more)
        {
            Assert.Equal(PreviewState.Ready, (await WaitForPreviewStateAsync(factory, id)).PreviewState);
        }

        // The uploads during the first pass ask for one more (which finds nothing left): two runs for five uploads.
        await Kakao.KakaoTestHost.EventuallyAsync(async () => (await PreviewPassJobsAsync(storage, expectAtLeast: 0)).Count == 2);
    }

    [Fact]
    public async Task A_decode_past_its_timeout_answers_preview_unavailable_and_the_next_preview_is_still_made()
    {
        // The host's clock moves only when told; one decode slot, so the next preview needs the one the slow decode had.
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero));
        using var factory = new SecureImageFactory(
            "Testing",
            new Dictionary<string, string?> { ["SecureImage:Imaging:MaxConcurrentDecodes"] = "1" },
            services: services =>
            {
                services.RemoveAll<TimeProvider>();
                services.AddSingleton<TimeProvider>(clock);
            });
        var client = factory.CreateBotClient();
        var consentId = await client.CreateConsentAsync();
        var slow = await client.UploadOkAsync(consentId, Encode(Gradient(4000, 3000, opaque: true), new JpegEncoder { Quality = 90 }));
        var next = await client.UploadOkAsync(consentId, Corpus.Read("jpg_gps_DSCN0010.jpg"));
        var anonymous = factory.CreateAnonymousClient();
        var renderer = factory.Services.GetRequiredService<SecureImage.Core.Imaging.PreviewRenderer>();

        var request = anonymous.GetAsync(ApiClient.PathOf((await IssuePreviewLinkAsync(client, slow.Id)).Url));
        await Kakao.KakaoTestHost.EventuallyAsync(() => Task.FromResult(renderer.DecodesRunning == 1 || request.IsCompleted));
        clock.Advance(TimeSpan.FromSeconds(30));

        await (await request).AssertProblemAsync(HttpStatusCode.NotFound, "preview-unavailable");
        Assert.Equal(PreviewState.Unavailable, (await factory.Services.GetRequiredService<IImageCatalog>().FindImageAsync(slow.Id, CancellationToken.None))!.PreviewState);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(ApiClient.PathOf(slow.Link.Url))).StatusCode);
        await (await client.PostAsJsonAsync($"/v1/images/{slow.Id}/links", new { variant = "preview" })).AssertProblemAsync(HttpStatusCode.NotFound, "preview-unavailable");
        var made = await anonymous.GetAsync(ApiClient.PathOf((await IssuePreviewLinkAsync(client, next.Id)).Url));
        Assert.Equal(HttpStatusCode.OK, made.StatusCode);
        Assert.Equal((0, 0), (renderer.DecodesRunning, renderer.DecodesAbandoned));
    }

    [Fact]
    public async Task A_preview_of_an_animated_webp_is_its_first_frame_only_without_metadata()
    {
        var colours = new[] { new Rgba32(220, 30, 30), new Rgba32(30, 200, 40), new Rgba32(40, 40, 230) };
        var webp = AnimatedWebP(48, 32, colours, exif: Encoding.ASCII.GetBytes("II*\0secret-camera-serial"), xmp: Encoding.UTF8.GetBytes("<x:xmpmeta>Kim Minji</x:xmpmeta>"));

        var preview = await UploadAndFetchPreviewAsync(webp);

        Assert.Equal("image/jpeg", preview.ContentType);
        using var image = Image.Load<Rgba32>(preview.Bytes);
        Assert.Single(image.Frames);
        Assert.Equal((48, 32), (image.Width, image.Height));
        var centre = image[24, 16];
        Assert.True(Math.Abs(centre.R - 220) + Math.Abs(centre.G - 30) + Math.Abs(centre.B - 30) < 30, $"centre pixel {centre} is not the first frame's red");
        await AssertNoMetadataAsync(preview.Bytes);
        Assert.True(preview.Bytes.AsSpan().IndexOf("secret-camera-serial"u8) < 0);
        Assert.True(preview.Bytes.AsSpan().IndexOf("Kim Minji"u8) < 0);
    }

    [Theory]
    [InlineData("PreviewMaxSidePixels", "9000")]
    [InlineData("PreviewJpegQuality", "0")]
    [InlineData("DecodeTimeout", "00:10:00")]
    [InlineData("PreviewMaxDeferral", "01:00:01")]
    [InlineData("PreviewMaxDeferral", "-00:00:01")]
    [InlineData("PreviewPassInterval", "00:01:30")]
    [InlineData("PreviewPassInterval", "00:00:00")]
    public async Task Invalid_imaging_settings_refuse_to_start(string key, string value)
    {
        using var factory = new SecureImageFactory("Testing", new Dictionary<string, string?> { [$"SecureImage:Imaging:{key}"] = value });

        var output = await factory.AssertRefusesToStartAsync();

        Assert.Contains(key, output, StringComparison.Ordinal);
    }

    private async Task<(string ContentType, byte[] Bytes)> UploadAndFetchPreviewAsync(byte[] original)
    {
        var client = _factory.CreateBotClient();
        var uploaded = await client.UploadOkAsync(await client.CreateConsentAsync(), original);
        var link = await IssuePreviewLinkAsync(client, uploaded.Id);
        var response = await _factory.CreateAnonymousClient().GetAsync(ApiClient.PathOf(link.Url));
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"preview answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(response.Content.Headers.ContentLength, bytes.Length);
        return (response.Content.Headers.ContentType!.MediaType!, bytes);
    }

    /// <summary>A blob stream that records whether it was disposed.</summary>
    private sealed class TrackedStream(Stream inner) : Stream
    {
        public bool Disposed { get; private set; }

        public override bool CanRead => inner.CanRead;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                Disposed = true;
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>The configured blob store, with every download stream it hands out recorded.</summary>
    private sealed class TrackingDownloads(IBlobStore inner, ConcurrentBag<TrackedStream> opened) : IBlobStore
    {
        public async Task<Stream> DownloadStreamingAsync(string blobName, CancellationToken cancellationToken)
        {
            var stream = new TrackedStream(await inner.DownloadStreamingAsync(blobName, cancellationToken));
            opened.Add(stream);
            return stream;
        }

        public Task CreateIfNotExistsAsync(CancellationToken cancellationToken) => inner.CreateIfNotExistsAsync(cancellationToken);

        public Task UploadAsync(string blobName, Stream content, CancellationToken cancellationToken) => inner.UploadAsync(blobName, content, cancellationToken);

        public Task UploadAsync(string blobName, Stream content, long? expectedLength, CancellationToken cancellationToken) => inner.UploadAsync(blobName, content, expectedLength, cancellationToken);

        public Task<bool> DeleteIfExistsAsync(string blobName, CancellationToken cancellationToken) => inner.DeleteIfExistsAsync(blobName, cancellationToken);

        public IAsyncEnumerable<BlobItem> GetBlobsAsync(string? prefix, CancellationToken cancellationToken) => inner.GetBlobsAsync(prefix, cancellationToken);

        public Task CheckAvailableAsync(CancellationToken cancellationToken) => inner.CheckAvailableAsync(cancellationToken);
    }

    private static async Task<PreviewLinkBody> IssuePreviewLinkAsync(HttpClient client, Guid imageId)
    {
        var response = await client.PostAsJsonAsync($"/v1/images/{imageId}/links", new { variant = "preview" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<PreviewLinkBody>())!;
    }

    /// <summary>The preview-pass runs in the job store (queued, running or done), once at least <paramref name="expectAtLeast"/> of them are there.</summary>
    private static async Task<List<Hangfire.Common.Job>> PreviewPassJobsAsync(Hangfire.JobStorage storage, int expectAtLeast)
    {
        List<Hangfire.Common.Job> jobs = [];
        await Kakao.KakaoTestHost.EventuallyAsync(() =>
        {
            var monitoring = storage.GetMonitoringApi();
            jobs = monitoring.EnqueuedJobs("default", 0, 1000).Select(job => job.Value.Job)
                .Concat(monitoring.ProcessingJobs(0, 1000).Select(job => job.Value.Job))
                .Concat(monitoring.SucceededJobs(0, 1000).Select(job => job.Value.Job))
                .Concat(monitoring.FailedJobs(0, 1000).Select(job => job.Value.Job))
                .Where(job => job?.Type == typeof(SecureImage.Api.Features.Previews.PreviewPassJob))
                .ToList();
            return Task.FromResult(jobs.Count >= expectAtLeast);
        });
        return jobs;
    }

    /// <summary>Waits for the background pass (no assertion on how long it takes; the limit only ends a broken run).</summary>
    private static async Task<ImageRecord> WaitForPreviewStateAsync(SecureImageFactory factory, Guid imageId)
    {
        var catalog = factory.Services.GetRequiredService<IImageCatalog>();
        ImageRecord? image = null;
        await Kakao.KakaoTestHost.EventuallyAsync(async () => (image = await catalog.FindImageAsync(imageId, CancellationToken.None))!.PreviewState is not null, seconds: 120);
        return image!;
    }

    /// <summary>Settings for hosts that share one data directory (catalog, blobs) and keys, as consecutive processes of one deployment do.</summary>
    private Dictionary<string, string?> SharedDataDirectory()
    {
        _sharedDirectories.Add(Directory.CreateTempSubdirectory("secureimage-preview-restart-").FullName);
        var settings = new Dictionary<string, string?> { ["SecureImage:DataDirectory"] = _sharedDirectories[^1] };
        foreach (var (key, value) in SecureImageFactory.NewKeySettings())
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>
    /// An animated WebP by hand (ImageSharp 2.1 writes stills only): one lossless frame per colour, each the whole canvas,
    /// with EXIF and XMP chunks the sanitizer must drop.
    /// </summary>
    private static byte[] AnimatedWebP(int width, int height, Rgba32[] colours, byte[] exif, byte[] xmp)
    {
        static byte[] Chunk(string fourCc, byte[] data)
        {
            var chunk = new byte[8 + data.Length + (data.Length & 1)];
            Encoding.ASCII.GetBytes(fourCc).CopyTo(chunk, 0);
            BinaryPrimitives.WriteUInt32LittleEndian(chunk.AsSpan(4), (uint)data.Length);
            data.CopyTo(chunk, 8);
            return chunk;
        }

        static void UInt24(byte[] into, int at, int value) => (into[at], into[at + 1], into[at + 2]) = ((byte)value, (byte)(value >> 8), (byte)(value >> 16));

        var header = new byte[10];
        header[0] = 0x02 | 0x04 | 0x08; // animation, XMP, EXIF
        UInt24(header, 4, width - 1);
        UInt24(header, 7, height - 1);
        var chunks = new List<byte[]> { Chunk("VP8X", header), Chunk("ANIM", [0, 0, 0, 0, 0, 0]) };
        foreach (var colour in colours)
        {
            using var frame = new Image<Rgba32>(width, height, colour);
            var still = Encode(frame.Clone(), new SixLabors.ImageSharp.Formats.Webp.WebpEncoder { FileFormat = SixLabors.ImageSharp.Formats.Webp.WebpFileFormatType.Lossless });
            var frameHeader = new byte[16];
            UInt24(frameHeader, 6, width - 1);
            UInt24(frameHeader, 9, height - 1);
            UInt24(frameHeader, 12, 100);
            frameHeader[15] = 0x02; // no blending
            chunks.Add(Chunk("ANMF", [.. frameHeader, .. still.AsSpan(12)]));
        }

        chunks.Add(Chunk("EXIF", exif));
        chunks.Add(Chunk("XMP ", xmp));
        var body = chunks.SelectMany(chunk => chunk).ToArray();
        var riff = new byte[12];
        "RIFF"u8.CopyTo(riff);
        BinaryPrimitives.WriteUInt32LittleEndian(riff.AsSpan(4), (uint)(4 + body.Length));
        "WEBP"u8.CopyTo(riff.AsSpan(8));
        return [.. riff, .. body];
    }

    private List<string> BlobFiles() =>
        Directory.EnumerateFiles(Path.Combine(_factory.DataDirectory, "blobs"), "*", SearchOption.AllDirectories).ToList();

    /// <summary>exiftool finds nothing but the file's own structure: no EXIF, XMP, IPTC, ICC, comment or text.</summary>
    private static async Task AssertNoMetadataAsync(byte[] image)
    {
        var path = Path.Combine(Path.GetTempPath(), $"secureimage-preview-{Guid.NewGuid():N}");
        await File.WriteAllBytesAsync(path, image);
        try
        {
            var start = new ProcessStartInfo("exiftool", ["-a", "-G0", "-s", path]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(start)!;
            var report = await process.StandardOutput.ReadToEndAsync();
            await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            Assert.Equal(0, process.ExitCode);
            var groups = report.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line[1..line.IndexOf(']', StringComparison.Ordinal)])
                .ToHashSet(StringComparer.Ordinal);
            Assert.True(groups.IsSubsetOf(["ExifTool", "System", "File", "JFIF", "PNG", "Composite"]), "metadata groups: " + string.Join(", ", groups));
            Assert.DoesNotContain("Comment", report, StringComparison.Ordinal);
            Assert.DoesNotContain("Orientation", report, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static Image<Rgba32> Gradient(int width, int height, bool opaque)
    {
        var image = new Image<Rgba32>(width, height);
        image.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                for (var x = 0; x < row.Length; x++)
                {
                    var alpha = opaque ? (byte)255 : (byte)(255 * (x + y) / (width + height - 2));
                    row[x] = new Rgba32((byte)(255 * x / width), (byte)(255 * y / height), (byte)((x ^ y) & 0xFF), alpha);
                }
            }
        });
        return image;
    }

    private static byte[] Encode(Image<Rgba32> image, SixLabors.ImageSharp.Formats.IImageEncoder encoder)
    {
        using (image)
        {
            using var stream = new MemoryStream();
            image.Save(stream, encoder);
            return stream.ToArray();
        }
    }

    /// <summary>A well-formed PNG whose IDAT holds a zlib stream of an unknown method (its CRC correct): containers check out, pixels do not.</summary>
    private static byte[] PngWithUndecodableData()
    {
        var png = Encode(Gradient(64, 48, opaque: true), new PngEncoder());
        for (var at = 8; at + 12 <= png.Length;)
        {
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at));
            if (png.AsSpan(at + 4, 4).SequenceEqual("IDAT"u8))
            {
                // Compression method 15 (reserved) with a header checksum that holds.
                png[at + 8] = 0x7F;
                png[at + 9] = (byte)(31 - ((0x7F << 8) % 31));
                var crc = System.IO.Hashing.Crc32.HashToUInt32(png.AsSpan(at + 4, length + 4));
                BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(at + 8 + length), crc);
                return png;
            }

            at += 12 + length;
        }

        throw new InvalidOperationException("no IDAT");
    }

    private static double MeanDifference(Image<Rgba32> actual, Image<Rgba32> expected)
    {
        using var scaled = expected.Clone(context => context.Resize(actual.Width, actual.Height));
        long total = 0;
        long counted = 0;
        for (var y = 0; y < actual.Height; y++)
        {
            for (var x = 0; x < actual.Width; x++)
            {
                // A transparent pixel's colour is undefined: only opaque pixels are compared.
                var (a, b) = (actual[x, y], scaled[x, y]);
                if (a.A == 255 && b.A == 255)
                {
                    total += Math.Abs(a.R - b.R) + Math.Abs(a.G - b.G) + Math.Abs(a.B - b.B);
                    counted++;
                }
            }
        }

        Assert.True(counted > 0, "no opaque pixel to compare");
        return total / (3.0 * counted);
    }
}
