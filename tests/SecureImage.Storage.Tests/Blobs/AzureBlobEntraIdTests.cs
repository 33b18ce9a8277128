using Azure.Core;
using Azure.Identity;
using SecureImage.Core.Blobs;
using SecureImage.Storage.AzureBlob;

namespace SecureImage.Storage.Tests.Blobs;

/// <summary>Entra ID (bearer token) authorization against Azurite started with --oauth basic over HTTPS.</summary>
[Collection(BlobStoreCollection.Name)]
public sealed class AzureBlobEntraIdTests
{
    [Fact]
    public async Task A_store_with_a_token_credential_asks_for_the_storage_scope_and_round_trips_a_blob()
    {
        var credential = AzuriteTokenCredential.Valid();
        var store = new AzureBlobStore(AzuriteStores.OAuthOptions(AzuriteStores.NewContainerName(), credential));
        await store.CreateIfNotExistsAsync(TestTimeout.OneMinute);

        await store.UploadAsync("e/one", new PatternStream(5000, seed: 5), TestTimeout.OneMinute);
        await using (var download = await store.DownloadStreamingAsync("e/one", TestTimeout.OneMinute))
        {
            await PatternStream.AssertMatchesAsync(download, 5000, seed: 5);
        }

        Assert.True(await store.DeleteIfExistsAsync("e/one", TestTimeout.OneMinute));
        Assert.Contains(credential.RequestedScopes, scopes => scopes.SequenceEqual(["https://storage.azure.com/.default"]));
    }

    public static TheoryData<string> RefusedCredentials => ["expired", "wrong audience", "wrong issuer"];

    [Theory]
    [MemberData(nameof(RefusedCredentials))]
    public async Task A_token_the_service_does_not_accept_is_refused_as_an_authentication_failure(string kind)
    {
        var credential = kind switch
        {
            "expired" => AzuriteTokenCredential.Expired(),
            "wrong audience" => AzuriteTokenCredential.WrongAudience(),
            _ => AzuriteTokenCredential.WrongIssuer(),
        };
        var store = new AzureBlobStore(AzuriteStores.OAuthOptions(AzuriteStores.NewContainerName(), credential));

        var error = await Assert.ThrowsAsync<BlobStoreUnavailableException>(() => store.CreateIfNotExistsAsync(TestTimeout.OneMinute));

        Assert.Contains(error.Status, new int?[] { 401, 403 });
        Assert.Equal("AuthenticationFailed", error.ErrorCode);
        Assert.Contains("refused the credentials", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_credential_that_cannot_get_a_token_surfaces_as_CredentialUnavailable_without_a_status()
    {
        var store = new AzureBlobStore(AzuriteStores.OAuthOptions(AzuriteStores.NewContainerName(), new NoCredential()));

        var error = await Assert.ThrowsAsync<BlobStoreUnavailableException>(() => store.CheckAvailableAsync(TestTimeout.OneMinute));

        Assert.Equal("CredentialUnavailable", error.ErrorCode);
        Assert.Null(error.Status);
        Assert.IsAssignableFrom<AuthenticationFailedException>(error.InnerException);
    }

    [Fact]
    public void A_token_credential_with_a_plain_http_service_uri_is_refused_at_start_up()
    {
        var options = new AzureBlobStoreOptions
        {
            ServiceUri = new Uri("http://127.0.0.1:10000/devstoreaccount1"),
            Credential = AzuriteTokenCredential.Valid(),
        };

        var error = Assert.Throws<ArgumentException>(() => new AzureBlobStore(options));
        Assert.Contains("https", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Like DefaultAzureCredential on a machine with no identity at all.</summary>
    private sealed class NoCredential : TokenCredential
    {
        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            throw new CredentialUnavailableException("No identity is available in this test.");

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            throw new CredentialUnavailableException("No identity is available in this test.");
    }
}
