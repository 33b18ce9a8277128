using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using SecureImage.Api.Tests.TestSupport;
using SecureImage.Core.Blobs;

namespace SecureImage.Api.Tests;

public sealed class UploadsTests(SecureImageFactory factory) : IClassFixture<SecureImageFactory>
{
    [Fact]
    public async Task Uploading_a_jpeg_under_a_consent_answers_201_with_size_dimensions_expiry_and_a_ten_minute_link()
    {
        var client = factory.CreateBotClient();
        var consentId = await client.CreateConsentAsync();
        var original = Corpus.Read("jpg_gps_DSCN0010.jpg");
        var now = factory.Time.GetUtcNow();

        var response = await client.UploadAsync(consentId, original);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<UploadBody>())!;
        Assert.Equal("image/jpeg", body.ContentType);
        Assert.Equal((await Corpus.SanitizedAsync(original)).Length, body.Bytes);
        Assert.Equal((640, 480), (body.Width, body.Height));
        Assert.Equal(now, body.CreatedAt);
        Assert.Equal(now.AddDays(3), body.ExpiresAt);
        Assert.Equal(now.AddMinutes(10), body.Link.ExpiresAt);
        Assert.StartsWith($"http://localhost/v1/downloads/{body.Id}?exp=", body.Link.Url, StringComparison.Ordinal);
        Assert.Equal($"/v1/images/{body.Id}", response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task An_upload_tells_the_blob_store_the_length_its_request_declared_and_a_chunked_one_declares_none()
    {
        var declared = new ConcurrentQueue<long?>();
        using var recording = new SecureImageFactory("Testing", services: services =>
        {
            var original = services.Single(d => d.ServiceType == typeof(IBlobStore));
            services.Remove(original);
            services.AddSingleton<IBlobStore>(sp => new DeclaredLengths((IBlobStore)original.ImplementationFactory!(sp), declared));
        });
        var client = recording.CreateBotClient();
        var consentId = await client.CreateConsentAsync();
        var image = Corpus.Read("jpg_gps_DSCN0010.jpg");

        var form = new MultipartFormDataContent { { new StringContent(consentId.ToString()), "consentId" }, { new ByteArrayContent(image), "file", "photo.jpg" } };
        var length = form.Headers.ContentLength;
        var sized = await client.PostAsync("/v1/images", form);
        var unsized = await client.PostAsync("/v1/images", new MultipartFormDataContent
        {
            { new StringContent(consentId.ToString()), "consentId" },
            { new StreamContent(new UnknownLengthStream(image)), "file", "photo.jpg" },
        });

        Assert.Equal((HttpStatusCode.Created, HttpStatusCode.Created), (sized.StatusCode, unsized.StatusCode));
        Assert.True(length > image.Length);
        Assert.Equal([length, null], declared);
    }

    [Fact]
    public async Task The_file_part_may_come_before_the_consent_id()
    {
        var client = factory.CreateBotClient();
        var consentId = await client.CreateConsentAsync();

        var response = await client.UploadAsync(consentId, Corpus.Read("jpg_Canon_40D.jpg"), fileFirst: true);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task An_upload_without_a_consent_id_answers_403_consent_missing()
    {
        var client = factory.CreateBotClient();
        var response = await client.UploadAsync(null, Corpus.Read("jpg_Canon_40D.jpg"));

        await response.AssertProblemAsync(HttpStatusCode.Forbidden, "consent-missing");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_upload_under_an_unknown_consent_answers_403_consent_unknown(bool fileFirst)
    {
        var client = factory.CreateBotClient();
        var response = await client.UploadAsync(Guid.NewGuid(), Corpus.Read("jpg_Canon_40D.jpg"), fileFirst: fileFirst);

        await response.AssertProblemAsync(HttpStatusCode.Forbidden, "consent-unknown");
    }

    [Fact]
    public async Task A_consent_id_that_is_not_a_guid_answers_403_consent_unknown()
    {
        var client = factory.CreateBotClient();
        var form = new MultipartFormDataContent
        {
            { new StringContent("not-a-guid"), "consentId" },
            { new ByteArrayContent(Corpus.Read("jpg_Canon_40D.jpg")), "file", "a.jpg" },
        };

        var response = await client.PostAsync("/v1/images", form);

        await response.AssertProblemAsync(HttpStatusCode.Forbidden, "consent-unknown");
    }

    [Fact]
    public async Task An_upload_under_another_bots_consent_answers_403_consent_unknown()
    {
        var otherBotsConsent = await factory.CreateBotClient(SecureImageFactory.BotBKey).CreateConsentAsync();
        var client = factory.CreateBotClient();

        var response = await client.UploadAsync(otherBotsConsent, Corpus.Read("jpg_Canon_40D.jpg"));

        await response.AssertProblemAsync(HttpStatusCode.Forbidden, "consent-unknown");
    }

    [Fact]
    public async Task An_upload_under_a_withdrawn_consent_answers_403_consent_withdrawn()
    {
        var client = factory.CreateBotClient();
        var consentId = await client.CreateConsentAsync();
        await client.DeleteAsync($"/v1/consents/{consentId}");

        var response = await client.UploadAsync(consentId, Corpus.Read("jpg_Canon_40D.jpg"));

        await response.AssertProblemAsync(HttpStatusCode.Forbidden, "consent-withdrawn");
    }

    [Theory]
    [InlineData("<!DOCTYPE html><html><body>hi</body></html>", "page.jpg", "image/jpeg")]
    [InlineData("<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>", "icon.png", "image/png")]
    [InlineData("%PDF-1.7\n%\u00e2\u00e3\u00cf\u00d3\n1 0 obj", "scan.jpg", "image/jpeg")]
    [InlineData("BM\u0036\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0036\u0000\u0000\u0000", "old.bmp", "image/bmp")]
    public async Task A_file_that_is_not_an_accepted_image_answers_415_naming_the_accepted_types(string content, string fileName, string declaredType)
    {
        var client = factory.CreateBotClient();
        var consentId = await client.CreateConsentAsync();

        var response = await client.UploadAsync(consentId, Encoding.Latin1.GetBytes(content), fileName, declaredType);

        await response.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported-image-type");
        var problem = await response.ReadProblemAsync();
        Assert.Contains("image/jpeg", problem.Detail, StringComparison.Ordinal);
        Assert.Contains("image/webp", problem.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_heif_photo_answers_415()
    {
        var client = factory.CreateBotClient();
        var consentId = await client.CreateConsentAsync();

        var response = await client.UploadAsync(consentId, Corpus.Read("heic_samplefilehub.heif"), "photo.heic", "image/heic");

        await response.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported-image-type");
    }

    [Fact]
    public async Task A_jpeg_without_a_frame_answers_422()
    {
        var client = factory.CreateBotClient();
        var consentId = await client.CreateConsentAsync();
        byte[] truncated = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, .. "JFIF\0"u8, 1, 1, 0, 0, 1, 0, 1, 0, 0];

        var response = await client.UploadAsync(consentId, truncated);

        await response.AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "malformed-image");
    }

    [Fact]
    public async Task A_jpeg_named_like_a_png_is_stored_as_a_jpeg()
    {
        var client = factory.CreateBotClient();
        var consentId = await client.CreateConsentAsync();

        var response = await client.UploadAsync(consentId, Corpus.Read("jpg_Canon_40D.jpg"), "picture.png", "image/png");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("image/jpeg", (await response.Content.ReadFromJsonAsync<UploadBody>())!.ContentType);
    }

    [Fact]
    public async Task A_body_that_is_not_multipart_answers_415()
    {
        var client = factory.CreateBotClient();
        var content = new ByteArrayContent(Corpus.Read("jpg_Canon_40D.jpg"));
        content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");

        var response = await client.PostAsync("/v1/images", content);

        await response.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
    }

    [Fact]
    public async Task A_form_without_a_file_answers_400()
    {
        var client = factory.CreateBotClient();
        var consentId = await client.CreateConsentAsync();
        var form = new MultipartFormDataContent { { new StringContent(consentId.ToString()), "consentId" } };

        var response = await client.PostAsync("/v1/images", form);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "bad-request");
    }

    [Fact]
    public async Task A_form_with_two_files_answers_400()
    {
        var client = factory.CreateBotClient();
        var consentId = await client.CreateConsentAsync();
        var image = Corpus.Read("jpg_Canon_40D.jpg");
        var form = new MultipartFormDataContent
        {
            { new StringContent(consentId.ToString()), "consentId" },
            { new ByteArrayContent(image), "file", "a.jpg" },
            { new ByteArrayContent(image), "file", "b.jpg" },
        };

        var response = await client.PostAsync("/v1/images", form);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "bad-request");
    }

    [Fact]
    public async Task A_malformed_multipart_body_answers_400()
    {
        var client = factory.CreateBotClient();
        var content = new StringContent("--xyz\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc", Encoding.ASCII);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=xyz");

        var response = await client.PostAsync("/v1/images", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    /// <summary>The real store, noting the length each upload was declared with.</summary>
    private sealed class DeclaredLengths(IBlobStore inner, ConcurrentQueue<long?> declared) : IBlobStore
    {
        public Task UploadAsync(string blobName, Stream content, long? expectedLength, CancellationToken cancellationToken)
        {
            declared.Enqueue(expectedLength);
            return inner.UploadAsync(blobName, content, expectedLength, cancellationToken);
        }

        public Task UploadAsync(string blobName, Stream content, CancellationToken cancellationToken) => UploadAsync(blobName, content, null, cancellationToken);

        public Task CreateIfNotExistsAsync(CancellationToken cancellationToken) => inner.CreateIfNotExistsAsync(cancellationToken);

        public Task<Stream> DownloadStreamingAsync(string blobName, CancellationToken cancellationToken) => inner.DownloadStreamingAsync(blobName, cancellationToken);

        public Task<bool> DeleteIfExistsAsync(string blobName, CancellationToken cancellationToken) => inner.DeleteIfExistsAsync(blobName, cancellationToken);

        public IAsyncEnumerable<BlobItem> GetBlobsAsync(string? prefix, CancellationToken cancellationToken) => inner.GetBlobsAsync(prefix, cancellationToken);

        public Task CheckAvailableAsync(CancellationToken cancellationToken) => inner.CheckAvailableAsync(cancellationToken);
    }
}
