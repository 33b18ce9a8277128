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

    /// <summary>A stream that will not tell its length, so the client must send the body chunked.</summary>
    private sealed class UnknownLengthStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
