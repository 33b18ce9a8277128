using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;
using SecureImage.Core.Crypto;

namespace SecureImage.Storage.KeyVault;

/// <summary>
/// <see cref="IKeyEncryptionKey"/> on an RSA key in Azure Key Vault, through its REST wrapKey and
/// unwrapKey operations (RSA-OAEP-256) on an Azure.Core pipeline with Entra ID tokens. The key never
/// leaves the vault. The wrapped form records the key name and version as "kv.{name}.{version}", so
/// after rotation old images are unwrapped with the version that wrapped them. The plaintext wrapped is
/// image id ‖ data key, binding each wrapped key to its image as the local KEK's associated data does.
/// </summary>
public sealed class KeyVaultKeyEncryptionKey : IKeyEncryptionKey
{
    /// <summary>The Key Vault REST API version every request pins.</summary>
    internal const string ApiVersion = "7.5";

    internal const string Scope = "https://vault.azure.net/.default";

    internal const string Algorithm = "RSA-OAEP-256";

    private const string KeyIdPrefix = "kv.";

    private static readonly TimeSpan DefaultRetryAfter = TimeSpan.FromSeconds(5);

    private readonly HttpPipeline _pipeline;
    private readonly Uri _vault;
    private readonly string _keyName;

    public KeyVaultKeyEncryptionKey(KeyVaultKeyEncryptionKeyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        (_vault, _keyName) = options.Parse();
        _pipeline = HttpPipelineBuilder.Build(
            options.ClientOptions,
            [],
            [new BearerTokenAuthenticationPolicy(options.Credential!, Scope)],
            new ResponseClassifier());
    }

    public async Task<WrappedKey> WrapKeyAsync(ReadOnlyMemory<byte> dataKey, Guid imageId, CancellationToken cancellationToken)
    {
        if (dataKey.Length != EnvelopeFormat.DataKeySize)
        {
            throw new ArgumentException("A data key is 32 bytes.", nameof(dataKey));
        }

        var plaintext = new byte[16 + dataKey.Length];
        try
        {
            imageId.TryWriteBytes(plaintext.AsSpan(0, 16), bigEndian: true, out _);
            dataKey.Span.CopyTo(plaintext.AsSpan(16));

            // No version: the key's current version wraps; the response's kid says which one it was.
            var result = await OperationAsync(_keyName, version: null, "wrapkey", plaintext, cancellationToken);
            var (name, version) = ParseKid(result.Kid);
            return new WrappedKey($"{KeyIdPrefix}{name}.{version}", result.Value);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    public async Task<byte[]> UnwrapKeyAsync(WrappedKey wrappedKey, Guid imageId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(wrappedKey);
        if (!TryParseKeyId(wrappedKey.KeyId, out var name, out var version) || wrappedKey.Ciphertext is not { Length: > 0 })
        {
            throw new KeyUnwrapException("The wrapped key was not wrapped by Key Vault.");
        }

        var result = await OperationAsync(name, version, "unwrapkey", wrappedKey.Ciphertext, cancellationToken);
        var plaintext = result.Value;
        try
        {
            Span<byte> expected = stackalloc byte[16];
            imageId.TryWriteBytes(expected, bigEndian: true, out _);
            if (plaintext.Length != 16 + EnvelopeFormat.DataKeySize || !CryptographicOperations.FixedTimeEquals(plaintext.AsSpan(0, 16), expected))
            {
                throw new KeyUnwrapException("The wrapped key does not belong to this image.");
            }

            return plaintext.AsSpan(16).ToArray();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    public async Task CheckAvailableAsync(CancellationToken cancellationToken)
    {
        using var message = CreateMessage(RequestMethod.Get, _keyName, version: null, operation: null);
        var response = await SendAsync(message, cancellationToken);
        if (response.Status != 200)
        {
            throw Unavailable(response);
        }

        using var body = JsonDocument.Parse(response.Content.ToMemory());
        if (body.RootElement.TryGetProperty("attributes", out var attributes)
            && attributes.TryGetProperty("enabled", out var enabled) && enabled.ValueKind == JsonValueKind.False)
        {
            throw new KeyProviderUnavailableException("The Key Vault key is disabled.") { ErrorCode = "KeyDisabled" };
        }
    }

    /// <summary>Parses a catalog key id "kv.{name}.{version}".</summary>
    internal static bool TryParseKeyId(string keyId, out string name, out string version)
    {
        name = version = "";
        if (keyId is null || !keyId.StartsWith(KeyIdPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = keyId[KeyIdPrefix.Length..];
        var dot = rest.LastIndexOf('.');
        if (dot <= 0 || dot == rest.Length - 1)
        {
            return false;
        }

        (name, version) = (rest[..dot], rest[(dot + 1)..]);
        return true;
    }

    private async Task<(string Kid, byte[] Value)> OperationAsync(string name, string? version, string operation, byte[] value, CancellationToken cancellationToken)
    {
        using var message = CreateMessage(RequestMethod.Post, name, version, operation);
        message.Request.Headers.SetValue("Content-Type", "application/json");
        message.Request.Content = RequestContent.Create(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string>
        {
            ["alg"] = Algorithm,
            ["value"] = Base64Url.EncodeToString(value),
        }));
        var response = await SendAsync(message, cancellationToken);
        if (response.Status == 200)
        {
            using var body = JsonDocument.Parse(response.Content.ToMemory());
            var kid = body.RootElement.GetProperty("kid").GetString() ?? "";
            return (kid, Base64Url.DecodeFromChars(body.RootElement.GetProperty("value").GetString()));
        }

        var code = ErrorCode(response);
        if (operation == "unwrapkey" && (response.Status == 404 || (response.Status == 400 && code is "BadParameter")))
        {
            // The recorded version does not exist or the ciphertext is not one it wrapped.
            throw new KeyUnwrapException($"Key Vault could not unwrap this key ({response.Status}, {code ?? "no code"}).");
        }

        throw Unavailable(response);
    }

    private HttpMessage CreateMessage(RequestMethod method, string name, string? version, string? operation)
    {
        var message = _pipeline.CreateMessage();
        var request = message.Request;
        request.Method = method;
        var uri = new RequestUriBuilder();
        uri.Reset(_vault);
        uri.AppendPath("/keys/", escape: false);
        uri.AppendPath(name, escape: true);
        if (version is not null)
        {
            uri.AppendPath("/", escape: false);
            uri.AppendPath(version, escape: true);
        }

        if (operation is not null)
        {
            uri.AppendPath("/" + operation, escape: false);
        }

        uri.AppendQuery("api-version", ApiVersion);
        request.Uri = uri;
        request.Headers.SetValue("Accept", "application/json");
        return message;
    }

    private async Task<Response> SendAsync(HttpMessage message, CancellationToken cancellationToken)
    {
        try
        {
            await _pipeline.SendAsync(message, cancellationToken);
            return message.Response;
        }
        catch (RequestFailedException ex)
        {
            throw new KeyProviderUnavailableException("Key Vault is not reachable.", ex) { ErrorCode = ex.ErrorCode ?? "network", RetryAfter = DefaultRetryAfter };
        }
        catch (AuthenticationFailedException ex)
        {
            throw new KeyProviderUnavailableException("No Entra ID token for Key Vault.", ex) { ErrorCode = "credential" };
        }
    }

    private static KeyProviderUnavailableException Unavailable(Response response)
    {
        var code = ErrorCode(response) ?? response.Status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var reason = response.Status switch
        {
            401 or 403 when code.Contains("Disabled", StringComparison.OrdinalIgnoreCase) => "The Key Vault key is disabled.",
            401 or 403 => "Key Vault denied the operation: the identity lacks wrap/unwrap permission on the key.",
            429 => "Key Vault is throttling requests.",
            _ when code.Contains("Disabled", StringComparison.OrdinalIgnoreCase) => "The Key Vault key is disabled.",
            _ => $"Key Vault answered {response.Status}.",
        };
        // Throttling and server errors pass; denial and a disabled key wait for an operator.
        TimeSpan? retryAfter = response.Status switch
        {
            429 => RetryAfterOf(response) ?? DefaultRetryAfter,
            >= 500 => DefaultRetryAfter,
            _ => null,
        };
        return new KeyProviderUnavailableException(reason) { ErrorCode = code, RetryAfter = code.Contains("Disabled", StringComparison.OrdinalIgnoreCase) ? null : retryAfter };
    }

    /// <summary>Key Vault's Retry-After in seconds, bounded to a minute.</summary>
    private static TimeSpan? RetryAfterOf(Response response) =>
        response.Headers.TryGetValue("Retry-After", out var value) && int.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds >= 0
            ? TimeSpan.FromSeconds(Math.Clamp(seconds, 1, 60))
            : null;

    /// <summary>The innermost error code of a Key Vault error body ({"error":{"code","innererror":{"code"}}}).</summary>
    private static string? ErrorCode(Response response)
    {
        try
        {
            using var body = JsonDocument.Parse(response.Content.ToMemory());
            if (!body.RootElement.TryGetProperty("error", out var error))
            {
                return null;
            }

            string? code = null;
            while (error.ValueKind == JsonValueKind.Object)
            {
                if (error.TryGetProperty("code", out var c))
                {
                    code = c.GetString();
                }

                if (!error.TryGetProperty("innererror", out error))
                {
                    break;
                }
            }

            return code;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static (string Name, string Version) ParseKid(string kid)
    {
        // https://{vault}/keys/{name}/{version}
        var segments = Uri.TryCreate(kid, UriKind.Absolute, out var uri) ? uri.AbsolutePath.Trim('/').Split('/') : [];
        if (segments.Length != 3 || segments[0] != "keys")
        {
            throw new KeyProviderUnavailableException("Key Vault answered without a versioned key id.") { ErrorCode = "BadKid" };
        }

        return (segments[1], segments[2]);
    }
}
