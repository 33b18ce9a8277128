using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using SecureImage.Api.Tests.TestSupport;
using SecureImage.Core.Blobs;

namespace SecureImage.Api.Tests;

/// <summary>Errors written by the framework's own components are the service's problem+json too, and echo nothing.</summary>
public sealed class ErrorResponsesTests(SecureImageFactory factory) : IClassFixture<SecureImageFactory>
{
    [Theory]
    [InlineData("/openapi/v2.json", "v2")]
    [InlineData("/openapi/V2.json", "v2")]
    [InlineData("/openapi/%3Cscript%3Ealert(1)%3C%2Fscript%3E.json", "script")]
    [InlineData("/openapi/v1x.json", "v1x")]
    [InlineData("/openapi/.json", "openapi")]
    public async Task An_unknown_openapi_document_answers_the_standard_404_problem_without_echoing_its_name(string path, string name)
    {
        var response = await factory.CreateAnonymousClient().GetAsync(path);

        await response.AssertProblemAsync(HttpStatusCode.NotFound, "not-found");
        Assert.DoesNotContain(name, await response.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("/openapi/v1.json")]
    [InlineData("/openapi/V1.json")]
    public async Task The_openapi_document_is_still_served(string path)
    {
        var response = await factory.CreateAnonymousClient().GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task An_unexpected_failure_answers_500_and_its_log_names_the_type_and_place_but_never_the_message()
    {
        const string Marker = "client-text-7c1e";
        using var failing = new SecureImageFactory("Testing", services: s => s.Replace(ServiceDescriptor.Singleton<IBlobStore>(sp => new FailingDownloads(
            new InvalidOperationException($"quoting {Marker}", new FormatException($"inner {Marker}"))))));
        var client = failing.CreateBotClient();
        var uploaded = await client.UploadOkAsync(await client.CreateConsentAsync(), Corpus.Read("jpg_Canon_40D.jpg"));

        var response = await failing.CreateAnonymousClient().GetAsync(uploaded.Link.Url);

        await response.AssertProblemAsync(HttpStatusCode.InternalServerError, "internal-error");
        var error = Assert.Single(failing.Logs.AtLeast(LogLevel.Error));
        Assert.Contains(nameof(InvalidOperationException), error.ToString(), StringComparison.Ordinal);
        Assert.Contains(nameof(FormatException), error.ToString(), StringComparison.Ordinal);
        Assert.Contains(nameof(FailingDownloads), error.ToString(), StringComparison.Ordinal);
        failing.Logs.AssertNoneContain(Marker);
    }

    /// <summary>Files blobs as usual, but every download fails with <paramref name="failure"/>.</summary>
    private sealed class FailingDownloads(Exception failure) : IBlobStore
    {
        private readonly Dictionary<string, byte[]> _blobs = [];

        public Task CreateIfNotExistsAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public async Task UploadAsync(string blobName, Stream content, CancellationToken cancellationToken)
        {
            using var copy = new MemoryStream();
            await content.CopyToAsync(copy, cancellationToken);
            lock (_blobs)
            {
                _blobs[blobName] = copy.ToArray();
            }
        }

        public Task<Stream> DownloadStreamingAsync(string blobName, CancellationToken cancellationToken) => Task.FromException<Stream>(Thrown());

        public Task<bool> DeleteIfExistsAsync(string blobName, CancellationToken cancellationToken)
        {
            lock (_blobs)
            {
                return Task.FromResult(_blobs.Remove(blobName));
            }
        }

        public async IAsyncEnumerable<BlobItem> GetBlobsAsync(string? prefix, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.CompletedTask;
            yield break;
        }

        public Task CheckAvailableAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        // Thrown for real, so the exception carries a stack trace through this class.
        private Exception Thrown()
        {
            try
            {
                throw failure;
            }
            catch (Exception ex)
            {
                return ex;
            }
        }
    }
}
