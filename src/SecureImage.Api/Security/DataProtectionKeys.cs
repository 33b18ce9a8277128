using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.Extensions.Options;
using SecureImage.Core.Crypto;

namespace SecureImage.Api.Security;

/// <summary>
/// ASP.NET Core data protection (anti-forgery tokens, the OIDC state/nonce/correlation cookies, anything else the host
/// protects) on one key ring for every instance: kept in the catalog (<see cref="IXmlRepository"/> of the configured
/// provider) and encrypted there under the service's key-encryption key, the same KEK (local ring or Key Vault) that wraps
/// the images' data keys. The library creates, activates and rotates the keys itself (a new one every 90 days by default).
/// </summary>
internal static class DataProtectionKeys
{
    /// <summary>The application name every instance shares: keys and payloads are isolated by it, not by the content root path.</summary>
    public const string ApplicationName = "SecureImage";

    /// <summary>
    /// Data protection with the ring in the catalog and its secrets sealed under the KEK. <paramref name="repository"/>
    /// gives the catalog provider's repository; both are set through the options the key manager reads (the library's own
    /// extension point for repositories and encryptors that need services), so they are in place before its first read.
    /// </summary>
    public static IDataProtectionBuilder PersistKeysToCatalog(this IServiceCollection services, Func<IServiceProvider, IXmlRepository> repository)
    {
        var builder = services.AddDataProtection().SetApplicationName(ApplicationName);
        services.AddSingleton<IConfigureOptions<KeyManagementOptions>>(sp => new ConfigureOptions<KeyManagementOptions>(options =>
        {
            options.XmlRepository = repository(sp);
            options.XmlEncryptor = new KekXmlEncryptor(sp.GetRequiredService<IKeyEncryptionKey>());
        }));
        return builder;
    }
}

/// <summary>
/// Seals a data-protection key's secret (the element the library marks <c>requiresEncryption</c>, holding the master key)
/// as a <see cref="SealedSecret"/>: a fresh data key encrypts the XML, the KEK wraps the data key. What reaches the catalog
/// is the wrapped key and the ciphertext; the master key never does.
/// </summary>
/// <remarks>
/// <see cref="IXmlEncryptor"/> is synchronous and the KEK asynchronous (Key Vault is a network call), so this waits on it.
/// That is acceptable here: the library encrypts only when it creates a key (about every 90 days, or at the first start
/// on an empty catalog), there is no synchronization context in ASP.NET Core to deadlock on, and the Key Vault client has
/// its own timeouts and retries.
/// </remarks>
internal sealed class KekXmlEncryptor(IKeyEncryptionKey kek) : IXmlEncryptor
{
    internal static readonly XName Envelope = "sealedByKek";

    public EncryptedXmlInfo Encrypt(XElement plaintextElement)
    {
        ArgumentNullException.ThrowIfNull(plaintextElement);
        var plaintext = Encoding.UTF8.GetBytes(plaintextElement.ToString(SaveOptions.DisableFormatting));
        try
        {
            var sealedSecret = SealedSecret.SealAsync(kek, plaintext, CancellationToken.None).GetAwaiter().GetResult();
            var element = new XElement(
                Envelope,
                new XAttribute("version", "1"),
                new XAttribute("id", sealedSecret.Id.ToString("D")),
                new XAttribute("kekId", sealedSecret.Key.KeyId),
                new XElement("wrappedKey", Convert.ToBase64String(sealedSecret.Key.Ciphertext)),
                new XElement("ciphertext", Convert.ToBase64String(sealedSecret.Ciphertext)));
            return new EncryptedXmlInfo(element, typeof(KekXmlDecryptor));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }
}

/// <summary>
/// Opens what <see cref="KekXmlEncryptor"/> sealed. The library records this type's name beside each encrypted secret
/// and creates it by that name through its activator, which calls the public constructor taking an
/// <see cref="IServiceProvider"/> with the application's services; the KEK comes from there.
/// </summary>
/// <remarks>
/// Synchronous by interface, like the encryptor, and called about as rarely: once per key each time an instance reads
/// the ring (at start-up, on the library's refresh about every 24 hours, or for a key it has not seen yet).
/// A KEK that is unavailable (Key Vault down) surfaces as <see cref="KeyProviderUnavailableException"/>, which the
/// library treats as a key it cannot use right now; a retired KEK makes the keys it sealed unusable, and the library
/// then creates a new one (only tokens issued under the old key are refused).
/// </remarks>
internal sealed class KekXmlDecryptor : IXmlDecryptor
{
    private readonly IKeyEncryptionKey _kek;

    public KekXmlDecryptor(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        _kek = services.GetRequiredService<IKeyEncryptionKey>();
    }

    public XElement Decrypt(XElement encryptedElement)
    {
        ArgumentNullException.ThrowIfNull(encryptedElement);
        if (encryptedElement.Name != KekXmlEncryptor.Envelope || (string?)encryptedElement.Attribute("version") != "1"
            || !Guid.TryParse((string?)encryptedElement.Attribute("id"), out var id)
            || (string?)encryptedElement.Attribute("kekId") is not { Length: > 0 } kekId
            || !TryBase64(encryptedElement.Element("wrappedKey"), out var wrappedKey)
            || !TryBase64(encryptedElement.Element("ciphertext"), out var ciphertext))
        {
            throw new KeyUnwrapException("The data-protection key's sealed secret has an unknown format.");
        }

        var plaintext = new SealedSecret(id, new WrappedKey(kekId, wrappedKey), ciphertext).OpenAsync(_kek, CancellationToken.None).GetAwaiter().GetResult();
        try
        {
            return XElement.Parse(Encoding.UTF8.GetString(plaintext));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    private static bool TryBase64(XElement? element, out byte[] bytes)
    {
        bytes = [];
        if (element is null)
        {
            return false;
        }

        try
        {
            bytes = Convert.FromBase64String(element.Value);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
