using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using Azure.Core;
using Azure.Core.Diagnostics;
using Azure.Core.Pipeline;
using SecureImage.Storage.AzureBlob;

namespace SecureImage.Storage.Tests.Blobs;

/// <summary>
/// Nothing in this service forwards the SDK's event sources into ILogger; an operator may add a
/// listener, so what they would see is checked here with one that takes everything at Verbose.
/// </summary>
[Collection(BlobStoreCollection.Name)]
public sealed class AzureBlobLoggingTests
{
    private const int Threshold = 100;
    private const int BlockSize = 64;

    [Fact]
    public async Task A_Verbose_listener_on_every_Azure_event_source_sees_no_credential_signature_token_or_block_id()
    {
        var events = new ConcurrentQueue<(string Source, string Message)>();
        using var listener = new AzureEventSourceListener((e, message) => events.Enqueue((e.EventSource.Name, message)), EventLevel.Verbose);
        var sent = new SentAuthorization();
        var sharedKey = AzuriteStores.SharedKeyOptions(AzuriteStores.NewContainerName(), Threshold, BlockSize, listPageSize: 2);
        sharedKey.Policies.Add((sent, HttpPipelinePosition.BeforeTransport));
        var oauth = AzuriteStores.OAuthOptions(AzuriteStores.NewContainerName(), AzuriteTokenCredential.Valid(), Threshold, BlockSize, listPageSize: 2);
        oauth.Policies.Add((sent, HttpPipelinePosition.BeforeTransport));

        await ExerciseAsync(new AzureBlobStore(sharedKey));
        await ExerciseAsync(new AzureBlobStore(oauth));

        var all = events.ToArray();
        var http = all.Where(e => e.Source == "Azure-Core").Select(e => e.Message).ToArray();
        var text = string.Join("\n", all.Select(e => e.Message));
        Assert.Contains(http, m => m.Contains("x-ms-request-id", StringComparison.OrdinalIgnoreCase)); // logging did happen
        Assert.Contains(http, m => m.Contains("Authorization:REDACTED", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(http, m => m.Contains("blockid=REDACTED", StringComparison.Ordinal));
        Assert.Contains(http, m => m.Contains("marker=REDACTED", StringComparison.Ordinal));
        Assert.True(sent.Values.Count(v => v.StartsWith("SharedKey ", StringComparison.Ordinal)) > 5);
        Assert.True(sent.Values.Count(v => v.StartsWith("Bearer ", StringComparison.Ordinal)) > 5);
        foreach (var value in sent.Values)
        {
            // The whole header, the signature or token alone, or any long piece of it.
            var secret = value[(value.IndexOf(' ', StringComparison.Ordinal) + 1)..];
            Assert.DoesNotContain(secret.Length > 40 ? secret[^40..] : secret, text, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("SharedKey ", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Bearer ", text, StringComparison.Ordinal);
        Assert.DoesNotContain(AzuriteStores.DevelopmentAccountKey, text, StringComparison.Ordinal);
        Assert.DoesNotContain("sig=", text, StringComparison.Ordinal);
        Assert.DoesNotContain("eyJ", text, StringComparison.Ordinal); // a JWT's header, base64url of '{"'

        // Block ids are fixed-width counters, the same for every blob; still, none may show, in any event
        // of any Azure source. (Newer Azure.Storage.Common versions than 12.29 add a Verbose "string to
        // sign" event under Shared Key that would carry them: this is the test that tells on an upgrade.)
        for (var i = 0; i < 4; i++)
        {
            Assert.DoesNotContain(BlockId(i), text, StringComparison.Ordinal);
            Assert.DoesNotContain(Uri.EscapeDataString(BlockId(i)), text, StringComparison.Ordinal);
        }
    }

    private static string BlockId(int index) => Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes(index.ToString("D8", System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>Uploads in one put and in blocks, downloads, lists over several pages, deletes twice.</summary>
    private static async Task ExerciseAsync(AzureBlobStore store)
    {
        await store.CreateIfNotExistsAsync(TestTimeout.OneMinute);
        await store.UploadAsync("l/small", new PatternStream(Threshold - 1, seed: 1), TestTimeout.OneMinute);
        await store.UploadAsync("l/blocks", new PatternStream((3 * BlockSize) + Threshold, seed: 2), TestTimeout.OneMinute);
        await store.UploadAsync("l/third", new PatternStream(10, seed: 3), TestTimeout.OneMinute);
        await using (var download = await store.DownloadStreamingAsync("l/blocks", TestTimeout.OneMinute))
        {
            await PatternStream.AssertMatchesAsync(download, (3 * BlockSize) + Threshold, seed: 2);
        }

        var listed = 0;
        await foreach (var _ in store.GetBlobsAsync("l/", TestTimeout.OneMinute))
        {
            listed++;
        }

        Assert.Equal(3, listed);
        Assert.True(await store.DeleteIfExistsAsync("l/blocks", TestTimeout.OneMinute));
        Assert.False(await store.DeleteIfExistsAsync("l/blocks", TestTimeout.OneMinute));
        await Assert.ThrowsAsync<SecureImage.Core.Blobs.BlobNotFoundException>(() => store.DownloadStreamingAsync("l/blocks", TestTimeout.OneMinute));
    }

    /// <summary>Records the Authorization header of every request as sent, after signing.</summary>
    private sealed class SentAuthorization : HttpPipelineSynchronousPolicy
    {
        public ConcurrentBag<string> Values { get; } = [];

        public override void OnSendingRequest(HttpMessage message)
        {
            if (message.Request.Headers.TryGetValue("Authorization", out var value))
            {
                Values.Add(value);
            }
        }
    }
}
