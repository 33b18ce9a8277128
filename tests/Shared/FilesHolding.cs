namespace SecureImage.Tests.Shared;

/// <summary>Searches the raw bytes of files (free pages, freed cells and log frames included) for a secret.</summary>
internal static class FilesHolding
{
    /// <summary>The files under <paramref name="folder"/> whose bytes contain <paramref name="needle"/>, relative to it.</summary>
    public static List<string> Bytes(string folder, byte[] needle)
    {
        var holding = new List<string>();
        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            // Open beside the running catalog, which keeps its files open.
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            if (copy.GetBuffer().AsSpan(0, (int)copy.Length).IndexOf(needle) >= 0)
            {
                holding.Add(Path.GetRelativePath(folder, file));
            }
        }

        return holding;
    }
}
