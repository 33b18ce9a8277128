using SecureImage.Core.Blobs;
using SecureImage.Storage.FileSystem;

namespace SecureImage.Storage.Tests.Blobs;

[Collection(BlobStoreCollection.Name)]
public sealed class FileSystemBlobStoreContractTests : BlobStoreContractTests, IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "secureimage-fs-blobs-" + Guid.NewGuid().ToString("N"));

    protected override IBlobStore CreateStore(int singlePutThresholdBytes, int blockSizeBytes, int listPageSize) =>
        new FileSystemBlobStore(new FileSystemBlobStoreOptions { RootPath = _root });

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
