using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using SecureImage.Core.Ingestion;

namespace SecureImage.Api.Problems;

/// <summary>A JSON request body read by <see cref="JsonRequestBody"/>: the value (null for a JSON <c>null</c>), or the problem to answer.</summary>
internal readonly record struct JsonBody<T>(T? Value, ProblemHttpResult? Problem);

/// <summary>
/// The one way endpoints read a JSON body. Every way a client can get it wrong is a 4xx: not JSON (415), a charset
/// .NET cannot decode (415; the framework's own reader throws an exception whose message repeats the charset, which
/// would be a 500 and a log line carrying client input), not valid JSON (400), or a body whose framing cannot be read (400). Known charsets other than UTF-8
/// (e.g. UTF-16) are transcoded, as the framework does.
/// </summary>
internal static class JsonRequestBody
{
    /// <summary>Far above what a consent, report or release needs; a larger body is refused before it is read whole.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    public const string UnknownCharsetDetail = "The body's charset is not one the service can read. Send the JSON in UTF-8 (charset=utf-8, or no charset).";

    /// <param name="notJsonDetail">The 415 detail when the body is not <c>application/json</c>: what to send instead.</param>
    public static async Task<JsonBody<T>> ReadAsync<T>(HttpRequest request, string notJsonDetail, CancellationToken cancellationToken)
    {
        if (!request.HasJsonContentType() || !MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType))
        {
            return new(default, Problems.UnsupportedMediaType(notJsonDetail));
        }

        if (!TryGetEncoding(mediaType, out var encoding))
        {
            return new(default, Problems.UnsupportedMediaType(UnknownCharsetDetail));
        }

        if (request.ContentLength > MaxBodyBytes)
        {
            return new(default, TooLarge());
        }

        var options = request.HttpContext.RequestServices.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        try
        {
            // Counted on the wire, so a chunked body (no Content-Length) is bounded too.
            await using var limited = new MaxLengthReadStream(request.Body, MaxBodyBytes);
            if (encoding is null)
            {
                return new(await JsonSerializer.DeserializeAsync<T>(limited, options, cancellationToken), null);
            }

            await using var utf8 = Encoding.CreateTranscodingStream(limited, encoding, Encoding.UTF8, leaveOpen: true);
            return new(await JsonSerializer.DeserializeAsync<T>(utf8, options, cancellationToken), null);
        }
        catch (UploadTooLargeException)
        {
            return new(default, TooLarge());
        }
        catch (JsonException)
        {
            return new(default, Problems.BadRequest("The body is not valid JSON."));
        }
        catch (IOException ex) when (ex is not BadHttpRequestException && !request.HttpContext.RequestAborted.IsCancellationRequested)
        {
            // Kestrel's word for chunked framing it cannot parse (a chunk size that overflows). Its other verdicts on the
            // body (400, 408 too slow, 431 trailers) are BadHttpRequestExceptions, which keep their status in the exception handler.
            return new(default, Problems.BadRequest("The request body could not be read."));
        }
    }

    private static ProblemHttpResult TooLarge() =>
        Problems.Make(StatusCodes.Status413PayloadTooLarge, Problems.Types.UploadTooLarge, "The request body is too large.", $"A JSON body may be at most {MaxBodyBytes} bytes.");

    /// <summary>The charset's encoding; null for UTF-8 (also when no charset is given); false when .NET does not know it.</summary>
    private static bool TryGetEncoding(MediaTypeHeaderValue mediaType, out Encoding? encoding)
    {
        encoding = null;
        if (!mediaType.Charset.HasValue)
        {
            return true;
        }

        try
        {
            var named = Encoding.GetEncoding(HeaderUtilities.RemoveQuotes(mediaType.Charset).ToString());
            encoding = named.CodePage == Encoding.UTF8.CodePage ? null : named;
            return true;
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
        {
            return false;
        }
    }
}
