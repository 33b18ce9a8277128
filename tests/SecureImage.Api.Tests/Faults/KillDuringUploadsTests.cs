using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using Npgsql;
using SecureImage.Api.Tests.TestSupport;
using SecureImage.Storage.AzureBlob;
using Xunit.Abstractions;

namespace SecureImage.Api.Tests.Faults;

/// <summary>
/// kill -9 of the real service process while uploads are in flight, then a restart on the same
/// configuration: nothing acknowledged is lost, nothing half-written survives reconciliation, and no
/// plaintext image bytes are left on disk (service data, temp, or Azurite's storage).
/// </summary>
public sealed class KillDuringUploadsTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly string[] Images =
    [
        "jpg_Canon_40D.jpg", "jpg_Nikon_D70.jpg", "jpg_gps_DSCN0010.jpg", "jpg_orientation_landscape_6.jpg",
        "jpg_orientation_portrait_8.jpg", "jpg_xmp_BlueSquare.jpg",
    ];

    private OwnAzurite? _azurite;
    private PostgresTestDatabase? _database;
    private ServiceProcess? _service;

    public async Task InitializeAsync()
    {
        _database = await PostgresTestDatabase.CreateAsync();
        _azurite = await OwnAzurite.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_service is not null)
        {
            await _service.DisposeAsync();
        }

        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }

        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    [Fact]
    public async Task After_kill_9_during_concurrent_uploads_every_acknowledged_image_survives_and_nothing_leaks()
    {
        var concurrency = FaultSizes.ConcurrentUploads;
        var total = concurrency * 2;
        var killAfter = Math.Max(1, concurrency / 2);
        var container = "fault" + Guid.NewGuid().ToString("N");
        var settings = new Dictionary<string, string?>(SecureImageFactory.NewKeySettings())
        {
            ["SecureImage:Catalog:Provider"] = "Postgres",
            ["SecureImage:Catalog:ConnectionString"] = _database!.ConnectionString,
            ["SecureImage:Blobs:Provider"] = "AzureBlob",
            ["SecureImage:Blobs:ConnectionString"] = _azurite!.ConnectionString,
            ["SecureImage:Blobs:Container"] = container,
        };
        _service = new ServiceProcess(settings);
        await _service.StartAsync();

        var originals = Images.ToDictionary(name => name, Corpus.Read);
        var sanitized = new Dictionary<string, byte[]>();
        foreach (var (name, bytes) in originals)
        {
            sanitized[name] = await Corpus.SanitizedAsync(bytes);
        }

        using var client = _service.CreateClient();
        var consentId = await client.CreateConsentAsync();

        // `concurrency` workers keep uploads in flight; the process is killed when `killAfter` are acknowledged.
        var acknowledged = new ConcurrentDictionary<Guid, string>();
        var statuses = new ConcurrentDictionary<string, int>();
        var killed = new TaskCompletionSource();
        var sent = 0;
        var deadline = TestTimeout.After(TimeSpan.FromMinutes(2));
        var workers = Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            while (!killed.Task.IsCompleted && !deadline.IsCancellationRequested)
            {
                var n = Interlocked.Increment(ref sent);
                if (n > total)
                {
                    Interlocked.Decrement(ref sent);
                    return;
                }

                var name = Images[n % Images.Length];
                string outcome;
                try
                {
                    using var response = await client.UploadAsync(consentId, originals[name]);
                    outcome = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    if (response.StatusCode == HttpStatusCode.Created)
                    {
                        var body = (await response.Content.ReadFromJsonAsync<UploadBody>())!;
                        acknowledged[body.Id] = name;
                        if (acknowledged.Count >= killAfter)
                        {
                            killed.TrySetResult();
                        }
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                {
                    outcome = "no answer";
                }

                statuses.AddOrUpdate(outcome, 1, (_, c) => c + 1);
            }
        })).ToList();

        await killed.Task.WaitAsync(TestTimeout.After(TimeSpan.FromMinutes(2)));
        _service.Kill();
        await Task.WhenAll(workers).WaitAsync(TestTimeout.After(TimeSpan.FromMinutes(2)));
        var acknowledgedAtKill = acknowledged.Count;
        output.WriteLine($"sent {sent}, acknowledged {acknowledgedAtKill}, outcomes {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}"))}");
        Assert.True(statuses.GetValueOrDefault("no answer") > 0, "the kill did not interrupt any upload: the scenario did not happen");

        // Restart on the same configuration, with reconciliation that runs every second for blobs older than a second.
        await _service.StartAsync(new Dictionary<string, string>
        {
            ["SecureImage:Retention:OrphanGracePeriod"] = "00:00:01",
            ["SecureImage:Retention:ReconcileInterval"] = "00:00:01",
        });
        using var afterRestart = _service.CreateClient();
        using var anonymous = _service.CreateClient(apiKey: null);

        // Every acknowledged upload: a fresh link downloads exactly the sanitized image.
        foreach (var (id, name) in acknowledged)
        {
            var linkResponse = await afterRestart.PostAsync($"/v1/images/{id}/links", content: null);
            Assert.True(linkResponse.StatusCode == HttpStatusCode.Created, $"link for acknowledged {id} answered {(int)linkResponse.StatusCode}");
            var link = (await linkResponse.Content.ReadFromJsonAsync<LinkBody>())!;
            var bytes = await anonymous.GetByteArrayAsync(link.Url);
            Assert.True(sanitized[name].AsSpan().SequenceEqual(bytes), $"acknowledged {id} ({name}) downloads other bytes");
        }

        // No catalog row points at a missing blob, and reconciliation leaves exactly the live blobs.
        var store = new AzureBlobStore(new AzureBlobStoreOptions { ConnectionString = _azurite.ConnectionString, ContainerName = container });
        var live = await LiveBlobNamesAsync();
        var blobs = await BlobNamesAsync(store);
        Assert.Empty(live.Except(blobs));
        output.WriteLine($"after restart: {live.Count} live rows, {blobs.Count - live.Count} orphan blobs before reconciliation");
        var settle = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (!blobs.SetEquals(live))
        {
            Assert.True(DateTime.UtcNow < settle, $"{blobs.Except(live).Count()} orphan blobs still there after 90 s:\n{_service.Output}");
            await Task.Delay(500);
            live = await LiveBlobNamesAsync();
            blobs = await BlobNamesAsync(store);
        }

        Assert.Empty(live.Except(blobs));
        Assert.True(live.Count >= acknowledgedAtKill);

        // No plaintext image bytes in the service's data and temp folders or in Azurite's storage.
        var scan = new PlaintextScan(Images.SelectMany(name => new[] { originals[name], sanitized[name] }));
        var files = Directory.EnumerateFiles(_service.Root, "*", SearchOption.AllDirectories)
            .Concat(Directory.EnumerateFiles(_azurite.StorageDirectory, "*", SearchOption.AllDirectories))
            .Where(f => new FileInfo(f).Length > 0) // also skips the runtime's diagnostic socket and debugger FIFOs, which block a read
            .ToList();
        Assert.Contains(files, f => f.Contains("__blobstorage__", StringComparison.Ordinal));
        foreach (var file in files)
        {
            Assert.False(scan.Finds(await File.ReadAllBytesAsync(file)), $"{file} holds plaintext image bytes");
        }

        output.WriteLine($"checked {acknowledged.Count} downloads, {files.Count} files scanned, 0 lost, 0 leaked");
    }

    private async Task<HashSet<string>> LiveBlobNamesAsync()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_database!.ConnectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync(TestTimeout.OneMinute);
        await using var command = new NpgsqlCommand("SELECT blob_name FROM images WHERE state <> 'erased';", connection);
        await using var reader = await command.ExecuteReaderAsync(TestTimeout.OneMinute);
        while (await reader.ReadAsync(TestTimeout.OneMinute))
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    private static async Task<HashSet<string>> BlobNamesAsync(AzureBlobStore store)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var blob in store.GetBlobsAsync(null, TestTimeout.OneMinute))
        {
            names.Add(blob.Name);
        }

        return names;
    }
}
