using System.Globalization;
using Npgsql;
using SecureImage.Core.Blobs;
using SecureImage.Storage.AzureBlob;

/// <summary>
/// `--sweep N`: upload p99 with and without the service's own retention sweep running. For each image:
/// a baseline upload phase, then (per round) N expired images are planted (1 KiB blobs in the
/// service's container, catalog rows inserted just before the phase) so the service's sweep (its
/// interval set short by load.sh) erases them during an upload phase, then another baseline. The raw
/// peer does the same with raw Azurite PUT and raw DELETE. Prints p99 of each phase, the
/// with-sweep/baseline ratio (goal ≤ 1.20) and how many images were erased during the phase.
/// </summary>
internal sealed class SweepComparison(HttpClient http, LoadOptions options, Guid[] consentIds, AzureBlobStore serviceStore, RssMonitor rss)
{
    // The service sweep's default blob-delete parallelism (Retention:SweepBlobDeleteParallelism); seeding uses it too.
    private const int SweepParallelism = 16;
    private readonly List<string> planted = [];

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var summaries = new List<string>();
        var failed = false;
        var raw = new RawPeer(options.Azurite, "sweepraw" + Guid.NewGuid().ToString("N")[..12]);
        await raw.CreateIfNotExistsAsync(cancellationToken);
        foreach (var imagePath in options.Images)
        {
            var image = await File.ReadAllBytesAsync(imagePath, cancellationToken);
            var name = Path.GetFileName(imagePath);

            // The service: its own sweep erases the planted images while uploads run.
            // Counted as blobs gone, like the peer: the catalog marks a batch erased only after all its deletes.
            var service = await AlternateAsync($"upload {name} ({image.Length / 1024} KiB)", label => UploadPhaseAsync(label, image), serviceStore, async names =>
            {
                await InsertExpiredRowsAsync(names, cancellationToken);
                planted.AddRange(names);
                return () => CountBlobsGoneAsync(serviceStore, names, cancellationToken);
            }, cancellationToken);
            await ReportCatalogAsync(cancellationToken);

            // The peer: raw Azurite PUT of the same bytes while raw DELETEs of as many blobs run at the
            // sweep's parallelism and pace, through Azure.Storage.Blobs used directly (RawPeer).
            var payload = new byte[image.Length];
            Random.Shared.NextBytes(payload);
            var rawCount = 0;
            var peer = await AlternateAsync($"raw Azurite PUT ({payload.Length / 1024} KiB)", label => Phase.RunAsync(label, options, async (i, token) =>
            {
                await raw.UploadAsync($"put-{Interlocked.Increment(ref rawCount):D8}", new MemoryStream(payload, writable: false), token);
                return (201, payload.Length);
            }), raw, names => Task.FromResult(StartRawDeletes(raw, names, cancellationToken)), cancellationToken);

            failed |= service.Failed;
            summaries.Add($"  {name}: service {service.Summary}");
            summaries.Add($"  {name}: raw     {peer.Summary}");
        }

        Console.WriteLine();
        Console.WriteLine($"upload p99 with the retention sweep running vs without (same run; {options.SweepImages} images per sweep, " +
                          $"sweep pace {(options.SweepRate > 0 ? $"{options.SweepRate:0} deletes/s" : "unlimited")}):");
        summaries.ForEach(Console.WriteLine);
        Console.WriteLine($"service peak RSS (VmHWM): {RssMonitor.Format(rss.HighWaterMark())}");
        return failed ? 2 : 0;
    }

    /// <summary>
    /// Baseline, then per round: plant N blobs, start erasing them (<paramref name="startSweep"/> returns
    /// how to count the erased), run the phase, wait for the rest to be erased, baseline again.
    /// </summary>
    private async Task<(bool Failed, string Summary)> AlternateAsync(
        string label, Func<string, Task<Phase.Result>> phase, IBlobStore store, Func<string[], Task<Func<Task<int>>>> startSweep, CancellationToken cancellationToken)
    {
        var baselines = new List<Phase.Result> { await Print(phase($"{label} baseline")) };
        var sweeps = new List<(Phase.Result Upload, int Erased)>();
        for (var round = 0; round < options.SweepRounds; round++)
        {
            var names = await SeedBlobsAsync(store, cancellationToken);
            var started = DateTimeOffset.UtcNow;
            var countErased = await startSweep(names);
            var upload = await Print(phase($"{label} + sweep"));
            var erased = await countErased();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  during the phase: {erased} of {names.Length} erased ({erased / upload.Seconds:0} /s)"));
            sweeps.Add((upload, erased));
            var deadline = DateTimeOffset.UtcNow.AddMinutes(5);
            while (await countErased() < names.Length && DateTimeOffset.UtcNow < deadline)
            {
                await Task.Delay(500, cancellationToken);
            }

            var all = await countErased();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  all {all} erased {(DateTimeOffset.UtcNow - started).TotalSeconds:0} s after the phase started"));
            baselines.Add(await Print(phase($"{label} baseline")));
        }

        static string P99s(IEnumerable<Phase.Result> results) => string.Join(" / ", results.Select(r => r.P99.ToString("0", CultureInfo.InvariantCulture)));
        var ratio = sweeps.Average(s => s.Upload.P99) / baselines.Average(b => b.P99);
        var summary = string.Create(CultureInfo.InvariantCulture,
            $"p99 baseline {P99s(baselines)} ms (spread {baselines.Max(b => b.P99) / baselines.Min(b => b.P99):0.00}x), with sweep {P99s(sweeps.Select(s => s.Upload))} ms: " +
            $"ratio {ratio:0.00} (goal <= 1.20); req/s ratio {sweeps.Average(s => s.Upload.RequestsPerSecond) / baselines.Average(b => b.RequestsPerSecond):0.00}; " +
            $"erased during the phase {string.Join(" / ", sweeps.Select(s => s.Erased))} of {options.SweepImages}");
        return (baselines.Concat(sweeps.Select(s => s.Upload)).Any(r => r.Errors > 0), summary);

        static async Task<Phase.Result> Print(Task<Phase.Result> running)
        {
            var result = await running;
            result.Print();
            return result;
        }
    }

    /// <summary>Raw DELETE of <paramref name="names"/> in the background, at the sweep's parallelism and pace.</summary>
    private Func<Task<int>> StartRawDeletes(RawPeer raw, string[] names, CancellationToken cancellationToken)
    {
        var deleted = 0;
        var issued = -1;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        _ = Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = SweepParallelism, CancellationToken = cancellationToken }, async (name, token) =>
        {
            var due = options.SweepRate > 0 ? TimeSpan.FromSeconds(Interlocked.Increment(ref issued) / options.SweepRate) - clock.Elapsed : TimeSpan.Zero;
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due, token);
            }

            await raw.DeleteIfExistsAsync(name, token);
            Interlocked.Increment(ref deleted);
        });
        return () => Task.FromResult(Volatile.Read(ref deleted));
    }

    private Task<Phase.Result> UploadPhaseAsync(string name, byte[] image) => Phase.RunAsync(name, options, async (i, token) =>
    {
        var (status, _, _) = await Requests.UploadAsync(http, image, consentIds[i % consentIds.Length], token);
        return (status, image.Length);
    });

    /// <summary>Blobs first: without their rows nothing is due, so seeding does not overlap the phase.</summary>
    private async Task<string[]> SeedBlobsAsync(IBlobStore store, CancellationToken cancellationToken)
    {
        var prefix = Guid.NewGuid().ToString("N")[..8];
        var names = Enumerable.Range(0, options.SweepImages).Select(i => $"sweep-{prefix}-{i:D7}").ToArray();
        var body = new byte[1024];
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = SweepParallelism, CancellationToken = cancellationToken }, async (name, token) =>
            await store.UploadAsync(name, new MemoryStream(body, writable: false), token));
        return names;
    }

    /// <summary>One statement, so the rows become due together right before the phase starts.</summary>
    private async Task InsertExpiredRowsAsync(string[] names, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            WITH consent AS (
                INSERT INTO consents (id, bot_id, subject_hash, purpose, policy_version, source, granted_at)
                VALUES (gen_random_uuid(), 'load', 'sweep', 'load', 'v', 'api', now() - interval '4 days')
                RETURNING id)
            INSERT INTO images (id, bot_id, subject_hash, consent_id, content_type, bytes, width, height, blob_name, key_id, wrapped_key, created_at, expires_at, state)
            SELECT gen_random_uuid(), 'load', 'sweep', consent.id, 'image/jpeg', 1024, 1, 1, name, 'k', '\x00'::bytea,
                   now() - interval '3 days', now() - interval '1 second', 'active'
              FROM consent, unnest(@names) AS name;
            """, connection);
        command.Parameters.AddWithValue("names", names);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<int> CountBlobsGoneAsync(IBlobStore store, string[] names, CancellationToken cancellationToken)
    {
        var left = 0;
        await foreach (var _ in store.GetBlobsAsync(names[0][..15], cancellationToken))
        {
            left++;
        }

        return names.Length - left;
    }

    /// <summary>The last batch's catalog update follows its last blob delete: give it a few seconds.</summary>
    private async Task ReportCatalogAsync(CancellationToken cancellationToken)
    {
        var erased = 0;
        for (var attempt = 0; attempt < 20 && (erased = await CountErasedAsync(planted, cancellationToken)) < planted.Count; attempt++)
        {
            await Task.Delay(500, cancellationToken);
        }

        Console.WriteLine($"  catalog: {erased} of {planted.Count} planted images marked erased");
    }

    private async Task<int> CountErasedAsync(IReadOnlyCollection<string> names, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT count(*) FROM images WHERE state = 'erased' AND blob_name = ANY(@names);", connection);
        command.Parameters.AddWithValue("names", names.ToArray());
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(options.Postgres);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }
}
