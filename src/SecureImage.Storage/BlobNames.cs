namespace SecureImage.Storage;

/// <summary>Blob names the service generates: lower-case hex and '/' only, so no adapter has to escape them.</summary>
internal static class BlobNames
{
    public static void Validate(string blobName)
    {
        ArgumentException.ThrowIfNullOrEmpty(blobName);
        if (blobName.Length > 200 || blobName[0] == '/' || blobName[^1] == '/' || blobName.Contains("//", StringComparison.Ordinal))
        {
            throw new ArgumentException("Invalid blob name.", nameof(blobName));
        }

        foreach (var c in blobName)
        {
            if (!(c is >= 'a' and <= 'z' or >= '0' and <= '9' or '/' or '-' or '.' or '_'))
            {
                throw new ArgumentException("Invalid blob name.", nameof(blobName));
            }
        }

        if (blobName.Split('/').Any(s => s is "." or ".."))
        {
            throw new ArgumentException("Invalid blob name.", nameof(blobName));
        }
    }
}
