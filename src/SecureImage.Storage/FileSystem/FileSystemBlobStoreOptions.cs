namespace SecureImage.Storage.FileSystem;

public sealed class FileSystemBlobStoreOptions
{
    /// <summary>Folder that holds the blobs. Created if missing.</summary>
    public string RootPath { get; set; } = "";
}
