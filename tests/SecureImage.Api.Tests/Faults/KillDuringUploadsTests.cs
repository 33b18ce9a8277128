using SecureImage.Api.Tests.TestSupport;
using Xunit.Abstractions;

namespace SecureImage.Api.Tests.Faults;

/// <summary>
/// kill -9 of the real service process while uploads are in flight, then a restart on the same
/// configuration: nothing acknowledged is lost, nothing half-written survives reconciliation, and no
/// plaintext image bytes are left on disk (service data, temp, or Azurite's storage).
/// </summary>
public sealed class KillDuringUploadsTests(ITestOutputHelper output) : IAsyncLifetime
{
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
        _service = ServiceProcess.OnPostgresAndAzurite(_database!.ConnectionString, _azurite!.ConnectionString, container);
        await _service.StartAsync();

        var load = await UploadLoad.CreateAsync();
        using var client = _service.CreateClient();
        var consentId = await client.CreateConsentAsync();

        // `concurrency` workers keep uploads in flight; the process is killed when `killAfter` are acknowledged.
        using var stop = new CancellationTokenSource();
        var workers = load.RunAsync(client, consentId, concurrency, total, pauseAfterRefusal: TimeSpan.Zero, stop.Token);
        await load.WaitUntilAsync(l => l.Acknowledged.Count >= killAfter, TimeSpan.FromMinutes(2), $"{killAfter} acknowledged uploads");
        await stop.CancelAsync();
        _service.Kill();
        await workers.WaitAsync(TestTimeout.After(TimeSpan.FromMinutes(2)));
        var acknowledgedAtKill = load.Acknowledged.Count;
        output.WriteLine(load.Summary());
        Assert.Contains(load.Outcomes, o => o.Outcome == UploadLoad.NoAnswer); // else the kill interrupted no upload: the scenario did not happen

        // Restart on the same configuration, with reconciliation that runs every second for blobs older than a second
        // (no uploads run after the restart, so the upload timeout may be shorter still).
        await _service.StartAsync(new Dictionary<string, string>
        {
            ["SecureImage:Retention:OrphanGracePeriod"] = "00:00:01",
            ["SecureImage:Limits:UploadTimeout"] = "00:00:00.500",
            ["SecureImage:Retention:ReconcileInterval"] = "00:00:01",
        });
        await load.AssertAcknowledgedDownloadExactlyAsync(_service);

        // No catalog row points at a missing blob, and reconciliation leaves exactly the live blobs.
        var storage = new CatalogAndContainer(_database.ConnectionString, _azurite.ConnectionString, container);
        var (liveRows, orphansBefore) = await storage.AssertNoRowWithoutBlobThenReconciledAsync(TimeSpan.FromSeconds(90), () => _service.Output);
        output.WriteLine($"after restart: {liveRows} live rows, {orphansBefore} orphan blobs before reconciliation");
        Assert.True(liveRows >= acknowledgedAtKill);

        // No plaintext image bytes in the service's data and temp folders or in Azurite's storage.
        var scan = new PlaintextScan(load.AllImageBytes);
        var files = Directory.EnumerateFiles(_service.Root, "*", SearchOption.AllDirectories)
            .Concat(Directory.EnumerateFiles(_azurite.StorageDirectory, "*", SearchOption.AllDirectories))
            .Where(f => new FileInfo(f).Length > 0) // also skips the runtime's diagnostic socket and debugger FIFOs, which block a read
            .ToList();
        Assert.Contains(files, f => f.Contains("__blobstorage__", StringComparison.Ordinal));
        foreach (var file in files)
        {
            Assert.False(scan.Finds(await File.ReadAllBytesAsync(file)), $"{file} holds plaintext image bytes");
        }

        output.WriteLine($"checked {load.Acknowledged.Count} downloads, {files.Count} files scanned, 0 lost, 0 leaked");
    }
}
