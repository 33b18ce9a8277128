using SecureImage.Storage.AzureBlob;

namespace SecureImage.Storage.Tests.Blobs;

public sealed class StorageConnectionStringTests
{
    [Fact]
    public void UseDevelopmentStorage_means_Azurite_well_known_account_on_the_default_port()
    {
        var parsed = StorageConnectionString.Parse("UseDevelopmentStorage=true");

        Assert.Equal(new Uri("http://127.0.0.1:10000/devstoreaccount1"), parsed.BlobEndpoint);
        Assert.Equal("devstoreaccount1", parsed.Credential.AccountName);
    }

    [Fact]
    public void Without_BlobEndpoint_the_endpoint_is_built_from_protocol_account_and_suffix()
    {
        var parsed = StorageConnectionString.Parse(
            "DefaultEndpointsProtocol=https;AccountName=prodacct;AccountKey=c2VjcmV0;EndpointSuffix=core.chinacloudapi.cn");

        Assert.Equal(new Uri("https://prodacct.blob.core.chinacloudapi.cn"), parsed.BlobEndpoint);
        Assert.Equal("prodacct", parsed.Credential.AccountName);
    }

    [Fact]
    public void An_explicit_BlobEndpoint_wins_and_keys_may_contain_equals_signs()
    {
        var parsed = StorageConnectionString.Parse(
            "AccountName=devstoreaccount1;AccountKey=" + StorageConnectionString.DevelopmentAccountKey +
            ";BlobEndpoint=http://127.0.0.1:12345/devstoreaccount1;");

        Assert.Equal(new Uri("http://127.0.0.1:12345/devstoreaccount1"), parsed.BlobEndpoint);
        Assert.Equal(
            new StorageSharedKeyCredential("x", StorageConnectionString.DevelopmentAccountKey).ComputeHmacSha256("probe"),
            parsed.Credential.ComputeHmacSha256("probe"));
    }

    [Theory]
    [InlineData("AccountName=a;BlobEndpoint=http://127.0.0.1:1/a")]
    [InlineData("AccountKey=c2VjcmV0")]
    [InlineData("BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=sv=2025&sig=abc")]
    [InlineData("AccountName=a;AccountKey=not*base64")]
    public void A_connection_string_without_a_usable_account_key_is_refused_without_echoing_it(string connectionString)
    {
        var error = Assert.ThrowsAny<FormatException>(() => StorageConnectionString.Parse(connectionString));

        Assert.DoesNotContain("c2VjcmV0", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sig=abc", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not*base64", error.Message, StringComparison.Ordinal);
    }
}
