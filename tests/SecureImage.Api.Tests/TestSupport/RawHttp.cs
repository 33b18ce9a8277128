using System.Net.Sockets;
using System.Text;

namespace SecureImage.Api.Tests.TestSupport;

/// <summary>One HTTP/1.1 response as it came off the wire.</summary>
public sealed record RawResponse(int Status, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body)
{
    public string? Header(string name) => Headers.Where(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();

    public string BodyText => Encoding.UTF8.GetString(Body);
}

/// <summary>
/// Sends bytes no HTTP client would send (broken request lines, huge headers) over a plain TCP connection and parses
/// what comes back, until the server closes the connection.
/// </summary>
public static class RawHttp
{
    public static async Task<IReadOnlyList<RawResponse>> SendAsync(Uri server, byte[] request, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(1));
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port, timeout.Token);
        var stream = client.GetStream();
        try
        {
            await stream.WriteAsync(request, timeout.Token);
        }
        catch (IOException)
        {
            // The server may answer and close before it has read everything (e.g. headers too large): read the answer anyway.
        }

        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
            {
                received.Write(buffer, 0, read);
            }
        }
        catch (IOException) when (received.Length > 0)
        {
            // A reset after the answer (the server closed with unread request bytes) ends the answer.
        }

        return Parse(received.ToArray());
    }

    public static byte[] Ascii(string request) => Encoding.Latin1.GetBytes(request);

    private static List<RawResponse> Parse(byte[] bytes)
    {
        var responses = new List<RawResponse>();
        var position = 0;
        while (position < bytes.Length)
        {
            var headEnd = IndexOf(bytes, "\r\n\r\n"u8, position);
            Assert.True(headEnd >= 0, $"an incomplete response head: {Encoding.Latin1.GetString(bytes, position, bytes.Length - position)}");
            var lines = Encoding.Latin1.GetString(bytes, position, headEnd - position).Split("\r\n");
            var statusLine = lines[0].Split(' ', 3);
            Assert.Equal("HTTP/1.1", statusLine[0]);
            var headers = lines.Skip(1).Select(l => l.Split(':', 2)).Select(p => KeyValuePair.Create(p[0], p[1].Trim())).ToList();
            position = headEnd + 4;
            var response = new RawResponse(int.Parse(statusLine[1], System.Globalization.CultureInfo.InvariantCulture), headers, []);
            if (response.Header("Transfer-Encoding") == "chunked")
            {
                var body = new MemoryStream();
                while (true)
                {
                    var lineEnd = IndexOf(bytes, "\r\n"u8, position);
                    var size = Convert.ToInt32(Encoding.Latin1.GetString(bytes, position, lineEnd - position).Split(';')[0], 16);
                    position = lineEnd + 2;
                    body.Write(bytes, position, size);
                    position += size + 2;
                    if (size == 0)
                    {
                        break;
                    }
                }

                response = response with { Body = body.ToArray() };
            }
            else if (response.Header("Content-Length") is { } length)
            {
                var size = int.Parse(length, System.Globalization.CultureInfo.InvariantCulture);
                response = response with { Body = bytes[position..(position + size)] };
                position += size;
            }

            responses.Add(response);
        }

        return responses;
    }

    private static int IndexOf(byte[] bytes, ReadOnlySpan<byte> value, int from)
    {
        var at = bytes.AsSpan(from).IndexOf(value);
        return at < 0 ? -1 : from + at;
    }
}
