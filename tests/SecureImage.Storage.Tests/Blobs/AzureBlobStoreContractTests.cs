using SecureImage.Core.Blobs;
using SecureImage.Storage.AzureBlob;

namespace SecureImage.Storage.Tests.Blobs;

/// <summary>The contract on Azurite with Shared Key (connection string).</summary>
[Collection(BlobStoreCollection.Name)]
public sealed class AzureBlobStoreContractTests : BlobStoreContractTests
{
    private readonly string _container = AzuriteStores.NewContainerName();

    protected override IBlobStore CreateStore(int singlePutThresholdBytes, int blockSizeBytes, int listPageSize) =>
        new AzureBlobStore(AzuriteStores.SharedKeyOptions(_container, singlePutThresholdBytes, blockSizeBytes, listPageSize));
}

/// <summary>The contract on Azurite over HTTPS with Entra ID bearer tokens.</summary>
[Collection(BlobStoreCollection.Name)]
public sealed class AzureBlobStoreOAuthContractTests : BlobStoreContractTests
{
    private readonly string _container = AzuriteStores.NewContainerName();

    protected override IBlobStore CreateStore(int singlePutThresholdBytes, int blockSizeBytes, int listPageSize) =>
        new AzureBlobStore(AzuriteStores.OAuthOptions(_container, AzuriteTokenCredential.Valid(), singlePutThresholdBytes, blockSizeBytes, listPageSize));
}
