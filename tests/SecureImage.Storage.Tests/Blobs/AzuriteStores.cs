using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Azure.Core;
using Azure.Core.Pipeline;
using SecureImage.Storage.AzureBlob;

namespace SecureImage.Storage.Tests.Blobs;

/// <summary>Options for stores on the Azurite servers that with-servers.sh starts.</summary>
internal static class AzuriteStores
{
    /// <summary>Azurite's well-known development account (public, documented, not a secret).</summary>
    public const string DevelopmentAccountName = "devstoreaccount1";

    public const string DevelopmentAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private const int DefaultThreshold = AzureBlobStoreOptions.DefaultTransferSizeBytes - 1;

    public static string NewContainerName() => "t" + Guid.NewGuid().ToString("N");

    public static AzureBlobStoreOptions SharedKeyOptions(
        string container,
        int singlePutThresholdBytes = DefaultThreshold,
        int blockSizeBytes = AzureBlobStoreOptions.DefaultBlockSizeBytes,
        int listPageSize = 5000) =>
        FastRetries(new()
        {
            ContainerName = container,
            ConnectionString = TestServers.AzuriteConnectionString,
            SinglePutThresholdBytes = singlePutThresholdBytes,
            BlockSizeBytes = blockSizeBytes,
            ListPageSize = listPageSize,
        });

    public static AzureBlobStoreOptions OAuthOptions(
        string container,
        TokenCredential credential,
        int singlePutThresholdBytes = DefaultThreshold,
        int blockSizeBytes = AzureBlobStoreOptions.DefaultBlockSizeBytes,
        int listPageSize = 5000) =>
        FastRetries(new()
        {
            ContainerName = container,
            ServiceUri = TestServers.AzuriteOAuthServiceUri,
            Credential = credential,
            SinglePutThresholdBytes = singlePutThresholdBytes,
            BlockSizeBytes = blockSizeBytes,
            ListPageSize = listPageSize,
            Transport = TrustingTransport(TestServers.AzuriteOAuthCertificatePath),
        });

    public static AzureBlobStoreOptions FastRetries(AzureBlobStoreOptions options)
    {
        options.MaxRetries = 2;
        options.RetryDelay = TimeSpan.FromMilliseconds(20);
        options.MaxRetryDelay = TimeSpan.FromMilliseconds(100);
        options.NetworkTimeout = TimeSpan.FromSeconds(60);
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
