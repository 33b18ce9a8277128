using System.Runtime.CompilerServices;
using SecureImage.Core.Blobs;

namespace SecureImage.Storage.FileSystem;

/// <summary>
/// Blobs as files under one folder, for the embedded default. Uploads go to a temporary file in the
/// same folder and are renamed into place, so a crashed upload is never visible under its name.
/// Only envelopes (ciphertext) are ever written here.
/// </summary>
public sealed class FileSystemBlobStore : IBlobStore
{
    private const string TempFolderName = ".partial";
    private readonly string _root;
    private readonly string _temp;

    public FileSystemBlobStore(FileSystemBlobStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.RootPath);
        _root = Path.GetFullPath(options.RootPath);
        _temp = Path.Combine(_root, TempFolderName);
    }

    public Task CreateIfNotExistsAsync(CancellationToken cancellationToken)
    {
        PrivateFiles.CreateFolder(_root);
        PrivateFiles.CreateFolder(_temp);
        return Task.CompletedTask;
    }

    public async Task UploadAsync(string blobName, Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        var target = PathOf(blobName);
        PrivateFiles.CreateFolder(_temp);
        var partial = Path.Combine(_temp, Guid.NewGuid().ToString("N"));
        try
        {
            var fileOptions = PrivateFiles.NewFile(FileMode.CreateNew, FileAccess.Write);
            fileOptions.Share = FileShare.None;
            fileOptions.Options = FileOptions.Asynchronous;

            await using (var file = new FileStream(partial, fileOptions))
            {
                await content.CopyToAsync(file, 81920, cancellationToken);
                await file.FlushAsync(cancellationToken);
            }

            PrivateFiles.CreateFolder(Path.GetDirectoryName(target)!);
            File.Move(partial, target, overwrite: false);
        }
        catch (IOException ex) when (ex is not FileNotFoundException)
        {
            TryDelete(partial);
            throw new BlobStoreUnavailableException("The file system blob store could not write the blob.", "IOError", null, ex);
        }
        catch
        {
            TryDelete(partial);
            throw;
        }
    }

    public Task<Stream> DownloadStreamingAsync(string blobName, CancellationToken cancellationToken)
    {
        var path = PathOf(blobName);
        try
        {
            Stream stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);
            return Task.FromResult(stream);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new BlobNotFoundException("The blob does not exist.", ex);
        }
    }

    public Task<bool> DeleteIfExistsAsync(string blobName, CancellationToken cancellationToken)
    {
        var path = PathOf(blobName);
        if (!File.Exists(path))
        {
            return Task.FromResult(false);
        }

        File.Delete(path);
        return Task.FromResult(true);
    }

    public async IAsyncEnumerable<BlobItem> GetBlobsAsync(string? prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!Directory.Exists(_root))
        {
            yield break;
        }

        var files = Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories)
            .Select(f => (Path: f, Name: Path.GetRelativePath(_root, f).Replace(Path.DirectorySeparatorChar, '/')))
            .Where(f => !f.Name.StartsWith(TempFolderName + "/", StringComparison.Ordinal))
            .Where(f => prefix is null || f.Name.StartsWith(prefix, StringComparison.Ordinal))
            .OrderBy(f => f.Name, StringComparer.Ordinal);
        foreach (var (path, name) in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                continue;
            }

            yield return new BlobItem(name, info.Length, new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero));
            await Task.Yield();
        }
    }

    public Task CheckAvailableAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(_root))
        {
            throw new BlobStoreUnavailableException("The blob folder does not exist.", "FolderMissing", null);
        }

        return Task.CompletedTask;
    }

    private string PathOf(string blobName)
    {
        BlobNames.Validate(blobName);
        return Path.Combine(_root, blobName.Replace('/', Path.DirectorySeparatorChar));
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // A leftover partial file is ciphertext only and is removed by reconciliation.
        }
    }
}
