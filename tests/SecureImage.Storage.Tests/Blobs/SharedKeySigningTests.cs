using System.Net;
using Azure.Core;
using Azure.Core.Pipeline;
using SecureImage.Storage.AzureBlob;

namespace SecureImage.Storage.Tests.Blobs;

public sealed class SharedKeySigningTests
{
    // Worked out by hand from "Authorize with Shared Key": verb, eleven standard headers (only
    // Content-Length and Content-Type set), x-ms- headers lower-cased, sorted, whitespace folded,
    // then /account/path and the query parameters lower-cased, decoded and sorted.
    private const string ExpectedPutBlockStringToSign =
        "PUT\n" +
        "\n" + // Content-Encoding
        "\n" + // Content-Language
        "11\n" + // Content-Length
        "\n" + // Content-MD5
        "application/octet-stream\n" + // Content-Type
        "\n" + // Date (x-ms-date is used instead)
        "\n\n\n\n\n" + // If-Modified-Since, If-Match, If-None-Match, If-Unmodified-Since, Range
        "x-ms-date:Mon, 23 Nov 2026 10:00:00 GMT\n" +
        "x-ms-meta-note:two spaces\n" +
        "x-ms-version:2025-05-05\n" +
        "/myaccount/images/ab/cd\n" +
        "blockid:MDAwMDAwMDE=\n" +
        "comp:block";

    private const string AccountKey = "c2VjdXJlaW1hZ2Utc2hhcmVkLWtleS10ZXN0LTAwMDE=";

    // HMAC-SHA256 of the string above under AccountKey, computed independently (Python's hmac module).
    private const string ExpectedSignature = "IVJeBw5g+7e4pc8/M+8o32BvzdZQljOfWlZBRFLg6fU=";

    private static readonly DateTimeOffset SigningTime = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_string_to_sign_follows_the_documented_canonical_form()
    {
        var actual = StorageSharedKeyPipelinePolicy.BuildStringToSign(
            "myaccount",
            "PUT",
            new Uri("https://myaccount.blob.core.windows.net/images/ab/cd?comp=block&blockid=MDAwMDAwMDE%3D"),
            [
                ("x-ms-version", "2025-05-05"),
                ("X-MS-Meta-Note", "  two   spaces "),
                ("Content-Type", "application/octet-stream"),
                ("x-ms-date", "Mon, 23 Nov 2026 10:00:00 GMT"),
                ("User-Agent", "not signed"),
            ],
            contentLength: 11);

        Assert.Equal(ExpectedPutBlockStringToSign, actual);
    }

    [Fact]
    public void An_empty_body_signs_an_empty_Content_Length_and_the_emulator_path_keeps_the_account_twice()
    {
        var actual = StorageSharedKeyPipelinePolicy.BuildStringToSign(
            "devstoreaccount1",
            "GET",
            new Uri("http://127.0.0.1:10000/devstoreaccount1/images?restype=container&comp=list&prefix=a%2Fb&maxresults=3"),
            [("x-ms-version", "2025-05-05"), ("x-ms-date", "Mon, 23 Nov 2026 10:00:00 GMT")],
            contentLength: 0);

        Assert.Equal(
            "GET\n\n\n\n\n\n\n\n\n\n\n\n" +
            "x-ms-date:Mon, 23 Nov 2026 10:00:00 GMT\nx-ms-version:2025-05-05\n" +
            "/devstoreaccount1/devstoreaccount1/images\ncomp:list\nmaxresults:3\nprefix:a/b\nrestype:container",
            actual);
    }

    [Fact]
    public async Task The_policy_sends_x_ms_date_and_a_SharedKey_authorization_with_the_hand_computed_signature()
    {
        var handler = new CapturingHandler();
        var policy = new StorageSharedKeyPipelinePolicy(new StorageSharedKeyCredential("myaccount", AccountKey), new FixedTime(SigningTime));
        var pipeline = new HttpPipeline(new HttpClientTransport(handler), [policy]);
        using var message = pipeline.CreateMessage();
        message.Request.Method = RequestMethod.Put;
        message.Request.Uri.Reset(new Uri("https://myaccount.blob.core.windows.net/images/ab/cd?comp=block"));
        message.Request.Uri.AppendQuery("blockid", "MDAwMDAwMDE=");
        message.Request.Headers.SetValue("x-ms-version", "2025-05-05");
        message.Request.Headers.SetValue("x-ms-meta-note", "two spaces");
        message.Request.Headers.SetValue("Content-Type", "application/octet-stream");
        message.Request.Content = RequestContent.Create("hello world"u8.ToArray());

        await pipeline.SendAsync(message, CancellationToken.None);

        var sent = Assert.Single(handler.Requests);
        Assert.Equal("Mon, 23 Nov 2026 10:00:00 GMT", sent.GetValues("x-ms-date").Single());
        Assert.Equal($"SharedKey myaccount:{ExpectedSignature}", sent.GetValues("Authorization").Single());
    }

    [Fact]
    public void The_credential_computes_HMAC_SHA256_of_the_string_under_the_decoded_key()
    {
        var credential = new StorageSharedKeyCredential("myaccount", AccountKey);

        Assert.Equal(ExpectedSignature, credential.ComputeHmacSha256(ExpectedPutBlockStringToSign));
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private sealed class CapturingHandler : HttpMessageHandler
    {
        public List<System.Net.Http.Headers.HttpRequestHeaders> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add(request.Headers);
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.Created) { Content = new ByteArrayContent([]) });
        }
    }
}
