using System.Globalization;
using System.Text;
using Azure.Core;
using Azure.Core.Pipeline;

namespace SecureImage.Storage.AzureBlob;

/// <summary>
/// Signs every attempt of a request with Shared Key: sets <c>x-ms-date</c> and
/// <c>Authorization: SharedKey account:signature</c> over the documented string-to-sign
/// (Blob service, version 2009-09-19 and later). Runs per retry so each attempt has a fresh date.
/// </summary>
internal sealed class StorageSharedKeyPipelinePolicy : HttpPipelineSynchronousPolicy
{
    private readonly StorageSharedKeyCredential _credential;
    private readonly TimeProvider _time;

    public StorageSharedKeyPipelinePolicy(StorageSharedKeyCredential credential, TimeProvider? time = null)
    {
        _credential = credential;
        _time = time ?? TimeProvider.System;
    }

    public override void OnSendingRequest(HttpMessage message)
    {
        base.OnSendingRequest(message);
        var request = message.Request;
        request.Headers.SetValue("x-ms-date", _time.GetUtcNow().ToString("r", CultureInfo.InvariantCulture));
        long? contentLength = null;
        if (request.Content is not null && request.Content.TryComputeLength(out var length))
        {
            contentLength = length;
        }

        var stringToSign = BuildStringToSign(
            _credential.AccountName,
            request.Method.Method,
            request.Uri.ToUri(),
            request.Headers.Select(h => (h.Name, h.Value)),
            contentLength);
        request.Headers.SetValue("Authorization", $"SharedKey {_credential.AccountName}:{_credential.ComputeHmacSha256(stringToSign)}");
    }

    /// <summary>
    /// The string-to-sign: verb, the eleven standard headers (Content-Length empty when 0), the
    /// canonicalized x-ms- headers and the canonicalized resource, separated by newlines.
    /// </summary>
    internal static string BuildStringToSign(
        string accountName,
        string method,
        Uri uri,
        IEnumerable<(string Name, string Value)> headers,
        long? contentLength)
    {
        var headerList = headers.ToList();
        string Header(string name) =>
            headerList.FirstOrDefault(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase)).Value ?? "";

        var builder = new StringBuilder();
        builder.Append(method.ToUpperInvariant()).Append('\n');
        builder.Append(Header("Content-Encoding")).Append('\n');
        builder.Append(Header("Content-Language")).Append('\n');
        builder.Append(contentLength is null or 0 ? "" : contentLength.Value.ToString(CultureInfo.InvariantCulture)).Append('\n');
        builder.Append(Header("Content-MD5")).Append('\n');
        builder.Append(Header("Content-Type")).Append('\n');
        builder.Append(Header("Date")).Append('\n');
        builder.Append(Header("If-Modified-Since")).Append('\n');
        builder.Append(Header("If-Match")).Append('\n');
        builder.Append(Header("If-None-Match")).Append('\n');
        builder.Append(Header("If-Unmodified-Since")).Append('\n');
        builder.Append(Header("Range")).Append('\n');
        AppendCanonicalizedHeaders(builder, headerList);
        AppendCanonicalizedResource(builder, accountName, uri);
        return builder.ToString();
    }

    private static void AppendCanonicalizedHeaders(StringBuilder builder, List<(string Name, string Value)> headers)
    {
        var msHeaders = headers
            .Where(h => h.Name.StartsWith("x-ms-", StringComparison.OrdinalIgnoreCase))
            .GroupBy(h => h.Name.ToLowerInvariant(), StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal);
        foreach (var group in msHeaders)
        {
            builder.Append(group.Key).Append(':')
                .Append(string.Join(',', group.Select(h => FoldWhitespace(h.Value))))
                .Append('\n');
        }
    }

    private static void AppendCanonicalizedResource(StringBuilder builder, string accountName, Uri uri)
    {
        builder.Append('/').Append(accountName).Append(uri.AbsolutePath);
        var query = uri.Query.TrimStart('?');
        if (query.Length == 0)
        {
            return;
        }

        var parameters = query.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair =>
            {
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                var name = equals < 0 ? pair : pair[..equals];
                var value = equals < 0 ? "" : pair[(equals + 1)..];
                return (Name: Uri.UnescapeDataString(name).ToLowerInvariant(), Value: Uri.UnescapeDataString(value));
            })
            .GroupBy(p => p.Name, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal);
        foreach (var group in parameters)
        {
            builder.Append('\n').Append(group.Key).Append(':')
                .Append(string.Join(',', group.Select(p => p.Value).Order(StringComparer.Ordinal)));
        }
    }

    /// <summary>Trims the value and replaces each run of linear whitespace with one space.</summary>
    private static string FoldWhitespace(string value)
    {
        var builder = new StringBuilder(value.Length);
        var pendingSpace = false;
        foreach (var c in value.Trim())
        {
            if (c is ' ' or '\t' or '\r' or '\n')
            {
                pendingSpace = true;
                continue;
            }

            if (pendingSpace)
            {
                builder.Append(' ');
                pendingSpace = false;
            }

            builder.Append(c);
        }

        return builder.ToString();
    }
}
