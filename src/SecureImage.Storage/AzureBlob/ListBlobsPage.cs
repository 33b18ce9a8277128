using System.Globalization;
using System.Xml;
using System.Xml.Linq;
using SecureImage.Core.Blobs;

namespace SecureImage.Storage.AzureBlob;

/// <summary>One page of a List Blobs answer (EnumerationResults) and its continuation marker.</summary>
internal sealed record ListBlobsPage(IReadOnlyList<BlobItem> Blobs, string? NextMarker)
{
    public static ListBlobsPage Parse(Stream xml)
    {
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null };
        using var reader = XmlReader.Create(xml, settings);
        var root = XDocument.Load(reader).Root ?? throw new FormatException("List Blobs answered an empty document.");
        var blobs = new List<BlobItem>();
        foreach (var blob in root.Element("Blobs")?.Elements("Blob") ?? [])
        {
            var name = blob.Element("Name")?.Value ?? throw new FormatException("A listed blob has no Name.");
            var properties = blob.Element("Properties");
            var length = long.Parse(properties?.Element("Content-Length")?.Value ?? "0", NumberStyles.None, CultureInfo.InvariantCulture);
            var created = properties?.Element("Creation-Time")?.Value ?? properties?.Element("Last-Modified")?.Value;
            var createdOn = created is null
                ? DateTimeOffset.MinValue
                : DateTimeOffset.Parse(created, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
            blobs.Add(new BlobItem(name, length, createdOn));
        }

        var marker = root.Element("NextMarker")?.Value;
        return new ListBlobsPage(blobs, string.IsNullOrEmpty(marker) ? null : marker);
    }
}
