using System.Data.Common;
using System.Xml.Linq;

namespace SecureImage.Storage;

/// <summary>How both catalogs keep the data-protection key ring's elements: one XML text per row, never a secret in the clear.</summary>
internal static class DataProtectionKeyXml
{
    /// <summary>
    /// The element as stored. The library marks every secret it wants encrypted with <c>requiresEncryption="true"</c> and
    /// replaces it with the encryptor's output before storing; an element that still carries the mark was not encrypted
    /// (no encryptor configured), and storing it would put the key in plaintext into the catalog and its backups, so it
    /// is refused instead: without a key the service cannot protect anything, which fails visibly rather than silently.
    /// </summary>
    public static string ToStored(XElement element)
    {
        ArgumentNullException.ThrowIfNull(element);
        if (element.DescendantsAndSelf().Attributes().Any(a => a.Name.LocalName == "requiresEncryption" && (string)a == "true"))
        {
            throw new InvalidOperationException("A data-protection key reached the catalog unencrypted; configure its XML encryptor.");
        }

        return element.ToString(SaveOptions.DisableFormatting);
    }

    /// <summary>Every stored element, in the order they were written (the library lets later revocations override earlier keys).</summary>
    public static IReadOnlyCollection<XElement> ReadAll(DbConnection connection)
    {
        using var select = connection.CreateCommand();
        select.CommandText = "SELECT xml FROM data_protection_keys ORDER BY id;";
        using var reader = select.ExecuteReader();
        var elements = new List<XElement>();
        while (reader.Read())
        {
            elements.Add(XElement.Parse(reader.GetString(0)));
        }

        return elements;
    }
}
