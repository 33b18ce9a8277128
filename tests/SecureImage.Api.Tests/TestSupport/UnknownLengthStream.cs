namespace SecureImage.Api.Tests.TestSupport;

/// <summary>A stream that will not tell its length, so the client must send the body chunked.</summary>
internal sealed class UnknownLengthStream(byte[] bytes) : MemoryStream(bytes)
{
    public override bool CanSeek => false;
}
