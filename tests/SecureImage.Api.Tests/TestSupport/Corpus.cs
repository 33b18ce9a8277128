using SecureImage.Core.Imaging;

namespace SecureImage.Api.Tests.TestSupport;

/// <summary>The shared image corpus (../shared/corpus beside the repository).</summary>
public static class Corpus
{
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string PathOf(string name) => Path.Combine(RepositoryRoot, "..", "shared", "corpus", name);

    public static byte[] Read(string name) => File.ReadAllBytes(PathOf(name));

    /// <summary>What the service stores for these bytes: the sanitizer's output.</summary>
    public static async Task<byte[]> SanitizedAsync(byte[] original)
    {
        using var output = new MemoryStream();
        await new ContainerImageSanitizer().SanitizeAsync(new MemoryStream(original), output, ImageLimits.Default, CancellationToken.None);
        return output.ToArray();
    }

    private static string FindRepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SecureImage.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("SecureImage.sln not found above the test binaries.");
    }
}
