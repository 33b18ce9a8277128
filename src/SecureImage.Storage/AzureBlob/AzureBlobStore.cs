using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using SecureImage.Core.Blobs;

namespace SecureImage.Storage.AzureBlob;

/// <summary>
/// <see cref="IBlobStore"/> on the Azure Blob REST API through an Azure.Core pipeline (retry,
/// logging, request ids), authorized with Shared Key or Entra ID tokens. Method names mirror
/// Azure.Storage.Blobs' BlobContainerClient/BlobClient so the SDK can replace this class later.
/// </summary>
public sealed class AzureBlobStore : IBlobStore
{
    /// <summary>The Blob REST API version every request pins (x-ms-version).</summary>
    internal const string ServiceVersion = "2025-05-05";

    /// <summary>The Entra ID scope for Azure Storage data-plane tokens.</summary>
    internal const string StorageScope = "https://storage.azure.com/.default";

    private readonly HttpPipeline _pipeline;
    private readonly string _containerUri;
    private readonly int _singlePutThresholdBytes;
    private readonly int _blockSizeBytes;
    private readonly int _listPageSize;

    public AzureBlobStore(AzureBlobStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        options.ClientOptions.EnforceRedaction();

        Uri serviceUri;
        HttpPipelinePolicy authorization;
        if (options.ConnectionString is { } connectionString && !string.IsNullOrWhiteSpace(connectionString))
        {
            var parsed = StorageConnectionString.Parse(connectionString);
            serviceUri = parsed.BlobEndpoint;
            authorization = new StorageSharedKeyPipelinePolicy(parsed.Credential);
        }
        else
        {
            serviceUri = options.ServiceUri!;
            authorization = new BearerTokenAuthenticationPolicy(options.Credential!, StorageScope);
        }

        _containerUri = serviceUri.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/" + options.ContainerName;
        _singlePutThresholdBytes = options.SinglePutThresholdBytes;
        _blockSizeBytes = options.BlockSizeBytes;
        _listPageSize = options.ListPageSize;
        _pipeline = HttpPipelineBuilder.Build(options.ClientOptions, [], [authorization], new ResponseClassifier());
    }

    public async Task CreateIfNotExistsAsync(CancellationToken cancellationToken)
    {
        // Create Container without x-ms-blob-public-access: private.
        using var message = CreateMessage(RequestMethod.Put, blobName: null);
        message.Request.Uri.AppendQuery("restype", "container");
        var response = await SendAsync(message, "create container", cancellationToken);
        if (response.Status == 201 || (response.Status == 409 && BlobStorageErrors.ErrorCode(response) == "ContainerAlreadyExists"))
        {
            return;
        }

        throw BlobStorageErrors.FromResponse("create container", response);
    }

    public async Task UploadAsync(string blobName, Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        BlobNames.Validate(blobName);

        // Read at most threshold + 1 bytes to learn whether one Put Blob suffices.
        var head = ArrayPool<byte>.Shared.Rent(_singlePutThresholdBytes + 1);
        try
        {
            var headLength = await FillAsync(content, head.AsMemory(0, _singlePutThresholdBytes + 1), cancellationToken);
            if (headLength <= _singlePutThresholdBytes)
            {
                await PutBlobAsync(blobName, head.AsMemory(0, headLength), cancellationToken);
                return;
            }

            await UploadInBlocksAsync(blobName, head, headLength, content, cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(head);
        }
    }

    public async Task<Stream> DownloadStreamingAsync(string blobName, CancellationToken cancellationToken)
    {
        BlobNames.Validate(blobName);
        var message = CreateMessage(RequestMethod.Get, blobName);
        message.BufferResponse = false;
        try
        {
            var response = await SendAsync(message, "download", cancellationToken);
            if (response.Status == 200 && response.ContentStream is { } body)
            {
                // The stream owns the message: disposing it releases the connection.
                return new BlobDownloadStream(body, message);
            }

            if (response.Status == 404)
            {
                throw new BlobNotFoundException($"The blob does not exist ({BlobStorageErrors.ErrorCode(response) ?? "404"}).");
            }

            throw BlobStorageErrors.FromResponse("download", response);
        }
        catch
        {
            message.Dispose();
            throw;
        }
    }

    public async Task<bool> DeleteIfExistsAsync(string blobName, CancellationToken cancellationToken)
    {
        BlobNames.Validate(blobName);
        using var message = CreateMessage(RequestMethod.Delete, blobName);
        message.Request.Headers.SetValue("x-ms-delete-snapshots", "include");
        var response = await SendAsync(message, "delete", cancellationToken);
        return response.Status switch
        {
            202 => true,
            404 => false, // BlobNotFound or ContainerNotFound: nothing to delete.
            _ => throw BlobStorageErrors.FromResponse("delete", response),
        };
    }

    public async IAsyncEnumerable<BlobItem> GetBlobsAsync(string? prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? marker = null;
        do
        {
            ListBlobsPage page;
            using (var message = CreateMessage(RequestMethod.Get, blobName: null))
            {
                var uri = message.Request.Uri;
                uri.AppendQuery("restype", "container");
                uri.AppendQuery("comp", "list");
                if (!string.IsNullOrEmpty(prefix))
                {
                    uri.AppendQuery("prefix", prefix);
                }

                uri.AppendQuery("maxresults", _listPageSize.ToString(CultureInfo.InvariantCulture));
                if (marker is not null)
                {
                    uri.AppendQuery("marker", marker);
                }

                var response = await SendAsync(message, "list", cancellationToken);
                if (response.Status != 200)
                {
                    throw BlobStorageErrors.FromResponse("list", response);
                }

                page = ListBlobsPage.Parse(response.ContentStream!);
            }

            foreach (var blob in page.Blobs)
            {
                yield return blob;
            }

            marker = page.NextMarker;
        }
        while (marker is not null);
    }

    public async Task CheckAvailableAsync(CancellationToken cancellationToken)
    {
        // Get Container Properties: cheap, and proves both reachability and authorization.
        using var message = CreateMessage(RequestMethod.Get, blobName: null);
        message.Request.Uri.AppendQuery("restype", "container");
        var response = await SendAsync(message, "check", cancellationToken);
        if (response.Status != 200)
        {
            throw BlobStorageErrors.FromResponse("check", response);
        }
    }

    private async Task PutBlobAsync(string blobName, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        using var message = CreateMessage(RequestMethod.Put, blobName);
        message.Request.Headers.SetValue("x-ms-blob-type", "BlockBlob");
        message.Request.Headers.SetValue("Content-Type", "application/octet-stream");
        message.Request.Content = RequestContent.Create(body);
        var response = await SendAsync(message, "upload", cancellationToken);
        if (response.Status != 201)
        {
            throw BlobStorageErrors.FromResponse("upload", response);
        }
    }

    /// <summary>
    /// Put Block for each block-sized piece (first from the bytes already read, then from the
    /// stream, one pooled buffer at a time), then Put Block List. Uncommitted blocks are invisible,
    /// so a failed upload leaves nothing readable behind. Each block is a seekable buffer, so the
    /// pipeline can retry it.
    /// </summary>
    private async Task UploadInBlocksAsync(string blobName, byte[] buffer, int headLength, Stream rest, CancellationToken cancellationToken)
    {
        var blockIds = new List<string>();
        var offset = 0;
        while (headLength - offset >= _blockSizeBytes)
        {
            await PutBlockAsync(blobName, blockIds, buffer.AsMemory(offset, _blockSizeBytes), cancellationToken);
            offset += _blockSizeBytes;
        }

        // The head's buffer carries on as the block buffer: one pooled buffer per upload in all.
        var blockSize = Math.Min(_blockSizeBytes, buffer.Length);
        buffer.AsSpan(offset, headLength - offset).CopyTo(buffer);
        var filled = headLength - offset;
        while (true)
        {
            filled += await FillAsync(rest, buffer.AsMemory(filled, blockSize - filled), cancellationToken);
            if (filled > 0)
            {
                await PutBlockAsync(blobName, blockIds, buffer.AsMemory(0, filled), cancellationToken);
            }

            if (filled < blockSize)
            {
                break;
            }

            filled = 0;
        }

        await PutBlockListAsync(blobName, blockIds, cancellationToken);
    }

    private async Task PutBlockAsync(string blobName, List<string> blockIds, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        // Block ids must have equal length within a blob: a fixed-width counter, base64-encoded.
        var blockId = Convert.ToBase64String(Encoding.ASCII.GetBytes(blockIds.Count.ToString("D8", CultureInfo.InvariantCulture)));
        using var message = CreateMessage(RequestMethod.Put, blobName);
        message.Request.Uri.AppendQuery("comp", "block");
        message.Request.Uri.AppendQuery("blockid", blockId);
        message.Request.Content = RequestContent.Create(body);
        var response = await SendAsync(message, "upload block", cancellationToken);
        if (response.Status != 201)
        {
            throw BlobStorageErrors.FromResponse("upload block", response);
        }

        blockIds.Add(blockId);
    }

    private async Task PutBlockListAsync(string blobName, List<string> blockIds, CancellationToken cancellationToken)
    {
        var xml = new StringBuilder("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
        foreach (var id in blockIds)
        {
            xml.Append("<Latest>").Append(id).Append("</Latest>");
        }

        xml.Append("</BlockList>");
        using var message = CreateMessage(RequestMethod.Put, blobName);
        message.Request.Uri.AppendQuery("comp", "blocklist");
        message.Request.Headers.SetValue("Content-Type", "application/xml");
        message.Request.Headers.SetValue("x-ms-blob-content-type", "application/octet-stream");
        message.Request.Content = RequestContent.Create(Encoding.UTF8.GetBytes(xml.ToString()));
        var response = await SendAsync(message, "commit blocks", cancellationToken);
        if (response.Status != 201)
        {
            throw BlobStorageErrors.FromResponse("commit blocks", response);
        }
    }

    private HttpMessage CreateMessage(RequestMethod method, string? blobName)
    {
        var message = _pipeline.CreateMessage();
        message.Request.Method = method;
        message.Request.Uri.Reset(new Uri(blobName is null ? _containerUri : _containerUri + "/" + blobName));
        message.Request.Headers.SetValue("x-ms-version", ServiceVersion);
        return message;
    }

    private async Task<Response> SendAsync(HttpMessage message, string operation, CancellationToken cancellationToken)
    {
        try
        {
            await _pipeline.SendAsync(message, cancellationToken);
        }
        catch (Exception ex) when (BlobStorageErrors.FromException(operation, ex, cancellationToken) is { } mapped)
        {
            throw mapped;
        }

        return message.Response;
    }

    /// <summary>Reads until <paramref name="buffer"/> is full or the stream ends; returns the count read.</summary>
    private static async Task<int> FillAsync(Stream stream, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer[total..], cancellationToken);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }
}
