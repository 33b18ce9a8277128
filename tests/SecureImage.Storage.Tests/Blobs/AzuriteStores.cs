using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Azure.Core;
using Azure.Core.Pipeline;
using SecureImage.Storage.AzureBlob;

namespace SecureImage.Storage.Tests.Blobs;

/// <summary>Options for stores on the Azurite servers that with-servers.sh starts.</summary>
internal static class AzuriteStores
{
    public static string NewContainerName() => "t" + Guid.NewGuid().ToString("N");

    public static AzureBlobStoreOptions SharedKeyOptions(
        string container,
        int singlePutThresholdBytes = AzureBlobStoreOptions.DefaultSinglePutThresholdBytes,
        int blockSizeBytes = AzureBlobStoreOptions.DefaultBlockSizeBytes,
        int listPageSize = 5000) =>
        new()
        {
            ContainerName = container,
            ConnectionString = TestServers.AzuriteConnectionString,
            SinglePutThresholdBytes = singlePutThresholdBytes,
            BlockSizeBytes = blockSizeBytes,
            ListPageSize = listPageSize,
            ClientOptions = FastRetries(new AzureBlobClientOptions()),
        };

    public static AzureBlobStoreOptions OAuthOptions(
        string container,
        TokenCredential credential,
        int singlePutThresholdBytes = AzureBlobStoreOptions.DefaultSinglePutThresholdBytes,
        int blockSizeBytes = AzureBlobStoreOptions.DefaultBlockSizeBytes,
        int listPageSize = 5000)
    {
        var clientOptions = FastRetries(new AzureBlobClientOptions());
        clientOptions.Transport = TrustingTransport(TestServers.AzuriteOAuthCertificatePath);
        return new AzureBlobStoreOptions
        {
            ContainerName = container,
            ServiceUri = TestServers.AzuriteOAuthServiceUri,
            Credential = credential,
            SinglePutThresholdBytes = singlePutThresholdBytes,
            BlockSizeBytes = blockSizeBytes,
            ListPageSize = listPageSize,
            ClientOptions = clientOptions,
        };
    }

    public static AzureBlobClientOptions FastRetries(AzureBlobClientOptions options)
    {
        options.Retry.MaxRetries = 2;
        options.Retry.Delay = TimeSpan.FromMilliseconds(20);
        options.Retry.MaxDelay = TimeSpan.FromMilliseconds(100);
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(60);
        return options;
    }

    /// <summary>A transport that trusts exactly the throw-away certificate (and still checks the host name).</summary>
    public static HttpPipelineTransport TrustingTransport(string certificatePemPath)
    {
        var trusted = X509Certificate2.CreateFromPem(File.ReadAllText(certificatePemPath));
        var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, _, errors) =>
            {
                if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
                {
                    return false;
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(trusted);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(certificate);
            },
        };
        return new HttpClientTransport(handler);
    }
}
