using System.Net;
using System.Net.Http.Headers;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests;

public sealed class UploadLimitsTests : IDisposable
{
    private const long MaxUploadBytes = 100 * 1024;
    private readonly SecureImageFactory _factory = new("Testing", settings: new Dictionary<string, string?>
    {
        ["SecureImage:Limits:MaxUploadBytes"] = MaxUploadBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
    });

    public void Dispose() => _factory.Dispose();

    [Fact]
    public async Task A_body_over_the_limit_sent_without_content_length_answers_413()
    {
        var client = _factory.CreateBotClient();
        var consentId = await client.CreateConsentAsync();
        var image = Corpus.Read("jpg_gps_DSCN0010.jpg");
        Assert.True(image.Length > MaxUploadBytes);

        using var form = new MultipartFormDataContent("limit-test");
        form.Add(new StringContent(consentId.ToString()), "consentId");
        form.Add(new StreamContent(new UnknownLengthStream(image)), "file", "big.jpg");
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/images") { Content = form };
        request.Headers.TransferEncodingChunked = true;

        var response = await client.SendAsync(request);

        Assert.Null(request.Content.Headers.ContentLength);
        await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "upload-too-large");
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_factory.DataDirectory, "blobs"), "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_body_under_the_limit_is_accepted()
    {
        var client = _factory.CreateBotClient();
        var consentId = await client.CreateConsentAsync();

        var response = await client.UploadAsync(consentId, Corpus.Read("jpg_Canon_40D.jpg"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task An_upload_that_stalls_past_the_upload_timeout_after_its_file_answers_408_and_leaves_no_row_for_reconciliation_to_break()
    {
        // Reconciliation (every second, the shortest Hangfire interval) deletes blobs older than three seconds
        // that have no row; uploads must finish within two and a half.
        using var factory = new SecureImageFactory("Testing", settings: new Dictionary<string, string?>
        {
            ["SecureImage:Retention:OrphanGracePeriod"] = "00:00:03",
            ["SecureImage:Retention:ReconcileInterval"] = "00:00:01",
            ["SecureImage:Limits:UploadTimeout"] = "00:00:02.500",
        });
        factory.Time.Set(DateTimeOffset.UtcNow);
        factory.Time.Flowing = true;
        var client = factory.CreateBotClient();
        var consentId = await client.CreateConsentAsync();
        var blobs = Path.Combine(factory.DataDirectory, "blobs");
        var stalled = new StalledForm(Corpus.Read("jpg_Canon_40D.jpg"), consentId);

        var sending = client.PostAsync("/v1/images", stalled);
        await Eventually(() => StoredBlobs(blobs).Any(), "the file part was not stored");
        await Eventually(() => !StoredBlobs(blobs).Any(), "reconciliation did not take the blob without a row for an orphan");
        stalled.Resume();
        var response = await sending.WaitAsync(TimeSpan.FromMinutes(1));

        await response.AssertProblemAsync(HttpStatusCode.RequestTimeout, "request-timeout");
        Assert.Empty(StoredBlobs(blobs));
    }

    private static IEnumerable<string> StoredBlobs(string root) =>
        Directory.Exists(root)
            ? Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Where(f => !f.Contains($"{Path.DirectorySeparatorChar}.partial{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            : [];

    private static async Task Eventually(Func<bool> condition, string message)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, message);
            await Task.Delay(50);
        }
    }

    /// <summary>A multipart form whose file part goes at once and whose consentId part waits until <see cref="Resume"/>.</summary>
    private sealed class StalledForm : HttpContent
    {
        private const string Boundary = "stalled-form";
        private readonly TaskCompletionSource _resume = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly byte[] _image;
        private readonly Guid _consentId;

        public StalledForm(byte[] image, Guid consentId)
        {
            (_image, _consentId) = (image, consentId);
            Headers.ContentType = MediaTypeHeaderValue.Parse($"multipart/form-data; boundary={Boundary}");
        }

        public void Resume() => _resume.TrySetResult();

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            var head = System.Text.Encoding.ASCII.GetBytes($"--{Boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n");
            await stream.WriteAsync(head);
            await stream.WriteAsync(_image);
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"\r\n--{Boundary}\r\n"));
            await stream.FlushAsync();
            await _resume.Task;
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"Content-Disposition: form-data; name=\"consentId\"\r\n\r\n{_consentId}\r\n--{Boundary}--\r\n"));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
