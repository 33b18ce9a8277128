using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using SecureImage.Core.Crypto;

namespace SecureImage.Api.Configuration;

/// <summary>
/// The service's secret keys, from configuration or a key file. In Development, if none are given,
/// keys are generated once into <c>{DataDirectory}/keys.json</c> (mode 0600) and reused. In every
/// other environment missing keys stop start-up: security never turns itself off.
/// </summary>
internal sealed class KeyMaterial
{
    private static readonly JsonSerializerOptions FileJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private KeyMaterial(KeyRing? kek, KeyRing links, byte[] subjectHashKey, string source)
    {
        KekRing = kek;
        LinkRing = links;
        SubjectHashKey = subjectHashKey;
        Source = source;
    }

    /// <summary>Null when the Key Vault KEK wraps data keys (SecureImage:Keys:KeyVault:KeyUri).</summary>
    public KeyRing? KekRing { get; }

    public KeyRing LinkRing { get; }

    public byte[] SubjectHashKey { get; }

    /// <summary>"configuration", "file" or "generated" (never the path or the keys).</summary>
    public string Source { get; }

    public static KeyMaterial Load(KeysOptions options, string dataDirectory, bool isDevelopment)
    {
        ArgumentNullException.ThrowIfNull(options);
        var keyVault = options.KeyVault.KeyUri is not null;
        if (options.Kek.Keys.Count > 0 || options.Links.Keys.Count > 0 || options.SubjectHashKey is not null)
        {
            return FromOptions(options, "configuration", keyVault);
        }

        if (!string.IsNullOrWhiteSpace(options.File))
        {
            if (!System.IO.File.Exists(options.File))
            {
                throw new KeyConfigurationException($"SecureImage:Keys:File names a file that does not exist.");
            }

            return FromOptions(ReadFile(options.File), "file", keyVault);
        }

        if (!isDevelopment)
        {
            throw new KeyConfigurationException(
                "No keys are configured. Outside Development the service needs SecureImage:Keys (Kek, Links, SubjectHashKey) " +
                "or SecureImage:Keys:File pointing at a key file; see README 'Keys'.");
        }

        var path = Path.Combine(Path.GetFullPath(dataDirectory), "keys.json");
        if (System.IO.File.Exists(path))
        {
            return FromOptions(ReadFile(path), "file");
        }

        var generated = Generate();
        WriteKeyFile(path, generated);
        return FromOptions(generated, "generated");
    }

    /// <summary>Fresh random keys in the key-file shape (used by Development and by the key-file tooling in tests).</summary>
    public static KeysOptions Generate()
    {
        var id = "k" + DateTime.UtcNow.ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture);
        return new KeysOptions
        {
            Kek = new KeyRingOptions { ActiveKeyId = id, Keys = { [id] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) } },
            Links = new KeyRingOptions { ActiveKeyId = id, Keys = { [id] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) } },
            SubjectHashKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        };
    }

    public static void WriteKeyFile(string path, KeysOptions keys)
    {
        Storage.PrivateFiles.CreateFolder(Path.GetDirectoryName(path)!);
        using var stream = new FileStream(path, Storage.PrivateFiles.NewFile(FileMode.CreateNew, FileAccess.Write));
        JsonSerializer.Serialize(stream, new KeyFile(keys.Kek, keys.Links, keys.SubjectHashKey), FileJson);
    }

    private static KeysOptions ReadFile(string path)
    {
        try
        {
            using var stream = System.IO.File.OpenRead(path);
            var file = JsonSerializer.Deserialize<KeyFile>(stream, FileJson) ?? throw new KeyConfigurationException("The key file is empty.");
            return new KeysOptions { Kek = file.Kek ?? new(), Links = file.Links ?? new(), SubjectHashKey = file.SubjectHashKey };
        }
        catch (JsonException ex)
        {
            throw new KeyConfigurationException("The key file is not valid JSON of the documented shape.", ex);
        }
    }

    private static KeyMaterial FromOptions(KeysOptions options, string source, bool keyVaultWraps = false) => new(
        keyVaultWraps && options.Kek.Keys.Count == 0 ? null : Ring(options.Kek, "Kek", LocalKeyEncryptionKey.KeySizeBytes),
        Ring(options.Links, "Links", Core.Links.LinkSigner.KeySizeBytes),
        Decode(options.SubjectHashKey, "SubjectHashKey", SubjectHasher.KeySizeBytes),
        source);

    private static KeyRing Ring(KeyRingOptions ring, string name, int size)
    {
        if (ring.Keys.Count == 0 || string.IsNullOrWhiteSpace(ring.ActiveKeyId))
        {
            throw new KeyConfigurationException($"SecureImage:Keys:{name} needs ActiveKeyId and at least one key.");
        }

        if (!ring.Keys.ContainsKey(ring.ActiveKeyId))
        {
            // Named, not quoted: the refusal line never repeats a configured value.
            throw new KeyConfigurationException($"SecureImage:Keys:{name}:ActiveKeyId is not the id of a key in SecureImage:Keys:{name}:Keys.");
        }

        try
        {
            return new KeyRing(ring.Keys.Select(k => KeyValuePair.Create(k.Key, Decode(k.Value, $"{name}:Keys:{k.Key}", size))), ring.ActiveKeyId, size);
        }
        catch (ArgumentException ex)
        {
            throw new KeyConfigurationException($"SecureImage:Keys:{name} is invalid: {ex.Message}", ex);
        }
    }

    private static byte[] Decode(string? base64, string name, int size)
    {
        if (string.IsNullOrWhiteSpace(base64))
        {
            throw new KeyConfigurationException($"SecureImage:Keys:{name} is missing.");
        }

        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(base64);
        }
        catch (FormatException ex)
        {
            throw new KeyConfigurationException($"SecureImage:Keys:{name} is not base64.", ex);
        }

        return bytes.Length == size ? bytes : throw new KeyConfigurationException($"SecureImage:Keys:{name} must be {size} bytes.");
    }

    private sealed record KeyFile(
        [property: JsonPropertyName("kek")] KeyRingOptions? Kek,
        [property: JsonPropertyName("links")] KeyRingOptions? Links,
        [property: JsonPropertyName("subjectHashKey")] string? SubjectHashKey);
}

/// <summary>Keys are missing or invalid; the service refuses to start.</summary>
internal sealed class KeyConfigurationException : Exception
{
    public KeyConfigurationException()
    {
    }

    public KeyConfigurationException(string message)
        : base(message)
    {
    }

    public KeyConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
