namespace SecureImage.Core.Imaging;

/// <summary>
/// Sequential writer into the destination that coalesces the many small segment writes and passes
/// large blocks (the scan data) straight through.
/// </summary>
internal sealed class ImageWriter
{
    private const int BufferSize = 16 * 1024;

    private readonly Stream destination;
    private readonly byte[] buffer = new byte[BufferSize];
    private int count;

    public ImageWriter(Stream destination) => this.destination = destination;

    public long Written { get; private set; }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        Written += data.Length;
        if (count + data.Length <= BufferSize)
        {
            data.Span.CopyTo(buffer.AsSpan(count));
            count += data.Length;
            return;
        }

        await FlushAsync(cancellationToken).ConfigureAwait(false);
        if (data.Length >= BufferSize / 2)
        {
            await destination.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            data.Span.CopyTo(buffer);
            count = data.Length;
        }
    }

    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        if (count > 0)
        {
            await destination.WriteAsync(buffer.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
            count = 0;
        }
    }
}
