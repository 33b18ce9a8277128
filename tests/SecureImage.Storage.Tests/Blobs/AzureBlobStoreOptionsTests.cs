using SecureImage.Storage.AzureBlob;

namespace SecureImage.Storage.Tests.Blobs;

/// <summary>What the adapter refuses before any request: the SDK parses, these rules decide.</summary>
public sealed class AzureBlobStoreOptionsTests
{
    private const string Key = "c2VjcmV0LWtleS1xNw==";

    [Theory]
    [InlineData("UseDevelopmentStorage=true")]
    [InlineData("DefaultEndpointsProtocol=https;AccountName=prodacct;AccountKey=" + Key + ";EndpointSuffix=core.chinacloudapi.cn")]
    [InlineData("AccountName=devstoreaccount1;AccountKey=" + Key + ";BlobEndpoint=http://127.0.0.1:12345/devstoreaccount1;")]
    public void A_connection_string_with_an_account_key_is_accepted(string connectionString)
    {
        Assert.Empty(new AzureBlobStoreOptions { ConnectionString = connectionString }.Problems());
        _ = new AzureBlobStore(new AzureBlobStoreOptions { ConnectionString = connectionString });
    }

    [Theory]
    [InlineData("BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=sv=2025&sig=abc-q7")]
    [InlineData("AccountName=a;AccountKey=" + Key + ";SharedAccessSignature=sv=2025&sig=abc-q7")]
    [InlineData("AccountName=a;AccountKey=" + Key + ";BlobEndpoint=https://a.blob.core.windows.net/?sv=2025&sig=abc-q7")]
    [InlineData("BlobEndpoint=https://a.blob.core.windows.net/q7")]
    [InlineData("AccountName=a;AccountKey=not*base64*q7")]
    [InlineData("AccountName=a;AccountKey=" + Key + ";BlobEndpoint=ftp://a.example/q7")]
    [InlineData("not a connection string q7")]
    public void A_connection_string_without_a_usable_account_key_is_refused_naming_the_setting_without_echoing_it(string connectionString)
    {
        var problem = Assert.Single(new AzureBlobStoreOptions { ConnectionString = connectionString }.Problems());

        Assert.StartsWith("Blobs:ConnectionString ", problem, StringComparison.Ordinal);
        Assert.DoesNotContain("q7", problem, StringComparison.Ordinal);
        Assert.DoesNotContain(Key, problem, StringComparison.Ordinal);
        var error = Assert.Throws<ArgumentException>(() => new AzureBlobStore(new AzureBlobStoreOptions { ConnectionString = connectionString }));
        Assert.DoesNotContain("q7", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:10000/devstoreaccount1")]
    [InlineData("https://acct.blob.core.windows.net/?sv=2025&sig=abc")]
    [InlineData("https://user:pass@acct.blob.core.windows.net")]
    public void A_service_uri_for_tokens_must_be_https_without_a_query_or_user_info(string uri)
    {
        var problem = Assert.Single(new AzureBlobStoreOptions { ServiceUri = new Uri(uri), Credential = AzuriteTokenCredential.Valid() }.Problems());

        Assert.StartsWith("Blobs:ServiceUri must be an https URI without a query", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Neither_or_both_of_connection_string_and_service_uri_is_refused()
    {
        Assert.Contains("exactly one", Assert.Single(new AzureBlobStoreOptions().Problems()), StringComparison.Ordinal);
        Assert.Contains("exactly one", Assert.Single(new AzureBlobStoreOptions
        {
            ConnectionString = "UseDevelopmentStorage=true",
            ServiceUri = new Uri("https://acct.blob.core.windows.net"),
        }.Problems()), StringComparison.Ordinal);
    }

    [Fact]
    public void A_service_uri_without_a_credential_is_refused_when_the_store_is_built()
    {
        var error = Assert.Throws<ArgumentException>(() => new AzureBlobStore(new AzureBlobStoreOptions { ServiceUri = new Uri("https://acct.blob.core.windows.net") }));

        Assert.Contains("token credential", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, Action<AzureBlobStoreOptions>> OutOfRange => new()
    {
        { "Blobs:MaxRetries", o => o.MaxRetries = -1 },
        { "Blobs:MaxRetries", o => o.MaxRetries = 11 },
        { "Blobs:RetryDelay", o => o.RetryDelay = TimeSpan.Zero },
        { "Blobs:RetryDelay", o => o.RetryDelay = o.MaxRetryDelay + TimeSpan.FromSeconds(1) },
        { "Blobs:RetryDelay", o => (o.RetryDelay, o.MaxRetryDelay) = (TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(6)) },
        { "Blobs:NetworkTimeout", o => o.NetworkTimeout = TimeSpan.Zero },
        { "Blobs:NetworkTimeout", o => o.NetworkTimeout = TimeSpan.FromMinutes(11) },
        { "Blobs:TransferSizeBytes", o => o.BlockSizeBytes = 0 },
        { "Blobs:TransferSizeBytes", o => o.SinglePutThresholdBytes = AzureBlobStoreOptions.MaxTransferSizeBytes },
        { "Blobs:ListPageSize", o => o.ListPageSize = 5001 },
        { "Blobs:Container", o => o.ContainerName = "Images" },
    };

    [Theory]
    [MemberData(nameof(OutOfRange))]
    public void A_setting_out_of_range_is_refused_by_its_name(string setting, Action<AzureBlobStoreOptions> change)
    {
        var options = new AzureBlobStoreOptions { ConnectionString = "UseDevelopmentStorage=true" };
        change(options);

        Assert.StartsWith(setting, Assert.Single(options.Problems()), StringComparison.Ordinal);
    }
}
