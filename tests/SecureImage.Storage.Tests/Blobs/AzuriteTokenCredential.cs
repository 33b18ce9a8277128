using System.Text;
using System.Text.Json;
using Azure.Core;

namespace SecureImage.Storage.Tests.Blobs;

/// <summary>
/// Hands out unsigned JWTs shaped like Entra ID tokens for Azure Storage. Azurite's
/// <c>--oauth basic</c> does not verify signatures; it checks that iat/nbf/exp are present and
/// current, that the issuer starts with an Entra ID authority (https://sts.windows.net/...) and
/// that the audience is Azure Storage (https://storage.azure.com). The variants below break one
/// of those checks each.
/// </summary>
internal sealed class AzuriteTokenCredential(string audience, string issuer, TimeSpan notBeforeOffset, TimeSpan expiresOffset) : TokenCredential
{
    public const string StorageAudience = "https://storage.azure.com";
    public const string EntraIssuer = "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/";

    public List<string[]> RequestedScopes { get; } = [];

    public static AzuriteTokenCredential Valid() =>
        new(StorageAudience, EntraIssuer, TimeSpan.FromMinutes(-5), TimeSpan.FromHours(1));

    public static AzuriteTokenCredential Expired() =>
        new(StorageAudience, EntraIssuer, TimeSpan.FromHours(-2), TimeSpan.FromHours(-1));

    public static AzuriteTokenCredential WrongAudience() =>
        new("https://management.azure.com", EntraIssuer, TimeSpan.FromMinutes(-5), TimeSpan.FromHours(1));

    public static AzuriteTokenCredential WrongIssuer() =>
        new(StorageAudience, "https://issuer.example.test/", TimeSpan.FromMinutes(-5), TimeSpan.FromHours(1));

    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        lock (RequestedScopes)
        {
            RequestedScopes.Add(requestContext.Scopes);
        }

        var now = DateTimeOffset.UtcNow;
        // The token's own lifetime is what Azurite judges; the cache lifetime just has to be in the future.
        return new AccessToken(CreateJwt(now), now.AddMinutes(30));
    }

    public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        ValueTask.FromResult(GetToken(requestContext, cancellationToken));

    private string CreateJwt(DateTimeOffset now)
    {
        var header = new { alg = "none", typ = "JWT" };
        var payload = new Dictionary<string, object>
        {
            ["aud"] = audience,
            ["iss"] = issuer,
            ["iat"] = now.Add(notBeforeOffset).ToUnixTimeSeconds(),
            ["nbf"] = now.Add(notBeforeOffset).ToUnixTimeSeconds(),
            ["exp"] = now.Add(expiresOffset).ToUnixTimeSeconds(),
            ["oid"] = "00000000-0000-0000-0000-0000000000aa",
            ["tid"] = "72f988bf-86f1-41af-91ab-2d7cd011db47",
            ["sub"] = "secureimage-tests",
        };
        return $"{Base64Url(JsonSerializer.SerializeToUtf8Bytes(header))}.{Base64Url(JsonSerializer.SerializeToUtf8Bytes(payload))}.";
    }

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
