using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using SecureImage.Storage.KeyVault;

namespace SecureImage.Tests.Shared;

/// <summary>
/// A local HTTPS stand-in for Azure Key Vault's keys API (api-version 7.5): GET key, POST wrapkey and
/// unwrapkey with {alg, value(base64url)} → {kid, value}, errors as {error:{code,message,innererror}}.
/// Real RSA keys with versions; failure modes switched on by the test.
/// </summary>
internal sealed class FakeKeyVault : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly X509Certificate2 _certificate;
    private readonly ConcurrentDictionary<string, (RSA Key, bool Enabled)> _versions = new();
    private string _latest = "";

    private FakeKeyVault(WebApplication app, X509Certificate2 certificate)
    {
        _app = app;
        _certificate = certificate;
    }

    public const string KeyName = "test-kek";

    public Uri VaultUri { get; private set; } = null!;

    public Uri KeyUri => new(VaultUri, $"keys/{KeyName}");

    /// <summary>Every request: method, path, api-version, alg, whether a bearer token came.</summary>
    public ConcurrentQueue<(string Method, string Path, string? ApiVersion, string? Alg, bool Bearer, DateTimeOffset At)> Requests { get; } = new();

    public bool Forbid { get; set; }

    /// <summary>How many next requests answer 429 with Retry-After: 1.</summary>
    public int ThrottleNext { get; set; }

    public static async Task<FakeKeyVault> StartAsync()
    {
        var certificate = SelfSigned();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(certificate)));
        var app = builder.Build();
        var vault = new FakeKeyVault(app, certificate);
        vault.AddVersion();
        app.Run(vault.HandleAsync);
        await app.StartAsync();
        vault.VaultUri = new Uri(app.Urls.First() + "/");
        return vault;
    }

    /// <summary>Rotation: a new key version becomes the latest. Returns its version id.</summary>
    public string AddVersion()
    {
        var version = Guid.NewGuid().ToString("N");
        _versions[version] = (RSA.Create(2048), true);
        _latest = version;
        return version;
    }

    public void Disable(string version) => _versions[version] = (_versions[version].Key, false);

    public string Latest => _latest;

    public KeyVaultKeyEncryptionKey NewKek()
    {
        var options = new KeyVaultKeyEncryptionKeyOptions { KeyUri = KeyUri, Credential = new StaticToken() };
        options.ClientOptions.Retry.Delay = TimeSpan.FromMilliseconds(20);
        options.ClientOptions.Retry.MaxDelay = TimeSpan.FromSeconds(2);
        options.ClientOptions.Transport = new HttpClientTransport(new HttpClientHandler
        {
            // Trust exactly this throw-away certificate.
            ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert is not null && cert.GetCertHashString() == _certificate.GetCertHashString(),
        });
        return new KeyVaultKeyEncryptionKey(options);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _certificate.Dispose();
        foreach (var (key, _) in _versions.Values)
        {
            key.Dispose();
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var segments = request.Path.Value!.Trim('/').Split('/');
        string? alg = null;
        byte[]? value = null;
        if (HttpMethods.IsPost(request.Method))
        {
            using var body = await JsonDocument.ParseAsync(request.Body);
            alg = body.RootElement.GetProperty("alg").GetString();
            value = Base64Url.DecodeFromChars(body.RootElement.GetProperty("value").GetString());
        }

        Requests.Enqueue((request.Method, request.Path.Value!, request.Query["api-version"], alg, request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.Ordinal), DateTimeOffset.UtcNow));
        if (request.Query["api-version"] != "7.5" || !request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.Ordinal))
        {
            await ErrorAsync(context, 401, "Unauthorized", null);
            return;
        }

        if (ThrottleNext > 0)
        {
            ThrottleNext--;
            context.Response.Headers.RetryAfter = "1";
            await ErrorAsync(context, 429, "Throttled", null);
            return;
        }

        if (Forbid)
        {
            await ErrorAsync(context, 403, "Forbidden", "ForbiddenByRbac");
            return;
        }

        if (segments is not ["keys", KeyName, ..])
        {
            await ErrorAsync(context, 404, "KeyNotFound", null);
            return;
        }

        var version = segments.Length >= 3 && segments[2] is not ("wrapkey" or "unwrapkey") ? segments[2] : _latest;
        var operation = segments[^1];
        if (!_versions.TryGetValue(version, out var key))
        {
            await ErrorAsync(context, 404, "KeyNotFound", null);
            return;
        }

        var kid = new Uri(VaultUri, $"keys/{KeyName}/{version}").ToString();
        if (HttpMethods.IsGet(request.Method))
        {
            await context.Response.WriteAsJsonAsync(new { key = new { kid, kty = "RSA" }, attributes = new { enabled = key.Enabled } });
            return;
        }

        if (!key.Enabled)
        {
            await ErrorAsync(context, 403, "Forbidden", "KeyDisabled");
            return;
        }

        if (alg != "RSA-OAEP-256")
        {
            await ErrorAsync(context, 400, "BadParameter", null);
            return;
        }

        byte[] result;
        try
        {
            result = operation == "wrapkey" ? key.Key.Encrypt(value!, RSAEncryptionPadding.OaepSHA256) : key.Key.Decrypt(value!, RSAEncryptionPadding.OaepSHA256);
        }
        catch (CryptographicException)
        {
            await ErrorAsync(context, 400, "BadParameter", null);
            return;
        }

        await context.Response.WriteAsJsonAsync(new { kid, value = Base64Url.EncodeToString(result) });
    }

    private static Task ErrorAsync(HttpContext context, int status, string code, string? inner)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new { error = new { code, message = "test double", innererror = inner is null ? null : new { code = inner } } });
    }

    private static X509Certificate2 SelfSigned()
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }

    private sealed class StaticToken : TokenCredential
    {
        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            new("test-token", DateTimeOffset.UtcNow.AddHours(1));

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }
}
