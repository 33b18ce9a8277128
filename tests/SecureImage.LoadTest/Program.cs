using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using SecureImage.Storage.AzureBlob;

// Load tool for SecureImage (see docs/PERFORMANCE.md and infra/local/load.sh).
// Every phase is bounded by count (--max-requests) and time (--duration).
var options = LoadOptions.Parse(args);
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
{
    BaseAddress = options.BaseUrl,
    Timeout = TimeSpan.FromSeconds(120),
};
http.DefaultRequestHeaders.Add("X-Api-Key", options.ApiKey);
var raw = new RawPeer(options.Azurite, "load" + Guid.NewGuid().ToString("N")[..12]);
await raw.CreateIfNotExistsAsync(CancellationToken.None);
var service = new AzureBlobStore(new AzureBlobStoreOptions { ConnectionString = options.Azurite, ContainerName = options.Container });
var rss = new RssMonitor(options.Pid);
Console.WriteLine($"load: {options.BaseUrl} concurrency {options.Concurrency}, {options.Duration.TotalSeconds:0} s or {options.MaxRequests} requests per phase, service pid {options.Pid}");
Console.WriteLine($"service RSS at start: {RssMonitor.Format(rss.Current())}");

var consents = new ConcurrentBag<Guid>();
var consentPhase = await Phase.RunAsync("consents", options with { MaxRequests = Math.Min(options.MaxRequests, 500) }, async (i, token) =>
{
    using var response = await http.PostAsJsonAsync("/v1/consents", new { subjectId = $"load-{i}", purpose = "load", policyVersion = "2026-01" }, token);
    if (response.IsSuccessStatusCode)
    {
        consents.Add((await response.Content.ReadFromJsonAsync<JsonElement>(token)).GetProperty("id").GetGuid());
    }

    return ((int)response.StatusCode, 0);
});
consentPhase.Print();
var consentIds = consents.ToArray();
if (consentIds.Length == 0)
{
    Console.Error.WriteLine("load: no consent was created; stopping.");
    return 1;
}

await WarmUpAsync();
if (options.SweepImages > 0)
{
    return await new SweepComparison(http, options, consentIds, service, rss).RunAsync(CancellationToken.None);
}

var results = new List<(string Name, Phase.Result Service, Phase.Result Raw, Phase.Result Links, Phase.Result Download, Phase.Result RawGet)>();
foreach (var imagePath in options.Images)
{
    var image = await File.ReadAllBytesAsync(imagePath);
    var label = Path.GetFileName(imagePath);
    var uploaded = new ConcurrentBag<Guid>();
    long sanitizedSize = 0;
    var upload = await Phase.RunAsync($"upload {label} ({image.Length / 1024} KiB)", options, async (i, token) =>
    {
        var (status, id, bytes) = await Requests.UploadAsync(http, image, consentIds[i % consentIds.Length], token);
        if (status == 201)
        {
            uploaded.Add(id);
            Interlocked.Exchange(ref sanitizedSize, bytes);
        }

        return (status, image.Length);
    }, rss);
    upload.Print();
    Console.WriteLine($"  service RSS: highest sampled so far {RssMonitor.Format(rss.PeakSampled)}, now {RssMonitor.Format(rss.Current())}");

    // The same size as the service stores for this image (sanitized + encrypted): the smallest blob in
    // its container that is at least the sanitized size (blobs of the other, larger image are larger still).
    long storedSize = 0;
    await foreach (var blob in service.GetBlobsAsync(null, CancellationToken.None))
    {
        if (blob.ContentLength >= sanitizedSize && (storedSize == 0 || blob.ContentLength < storedSize))
        {
            storedSize = blob.ContentLength;
        }
    }

    var ids = uploaded.ToArray();
    var payload = new byte[storedSize > 0 ? storedSize : image.Length];
    Random.Shared.NextBytes(payload);
    var rawNames = new ConcurrentBag<string>();
    var rawPut = await Phase.RunAsync($"raw Azurite PUT ({payload.Length / 1024} KiB)", options, async (i, token) =>
    {
        var name = $"raw-{label}-{i:D7}";
        await raw.UploadAsync(name, new MemoryStream(payload, writable: false), token);
        rawNames.Add(name);
        return (201, payload.Length);
    });
    rawPut.Print();

    var links = new ConcurrentBag<string>();
    var linkPhase = await Phase.RunAsync("link issuance", options with { MaxRequests = Math.Min(options.MaxRequests, Math.Max(ids.Length, 1)) }, async (i, token) =>
    {
        using var response = await http.PostAsync($"/v1/images/{ids[i % ids.Length]}/links", content: null, token);
        if ((int)response.StatusCode == 201)
        {
            links.Add((await response.Content.ReadFromJsonAsync<JsonElement>(token)).GetProperty("url").GetString()!);
        }

        return ((int)response.StatusCode, 0);
    });
    linkPhase.Print();

    var urls = links.ToArray();
    var download = await Phase.RunAsync("download", options, (i, token) => Requests.DownloadAsync(http, urls[i % urls.Length], token), rss);
    download.Print();

    var names = rawNames.ToArray();
    var rawGet = await Phase.RunAsync("raw Azurite GET", options, async (i, token) =>
    {
        await using var body = await raw.DownloadStreamingAsync(names[i % names.Length], token);
        return (200, await Requests.DrainAsync(body, token));
    });
    rawGet.Print();
    results.Add((label, upload, rawPut, linkPhase, download, rawGet));
}

Console.WriteLine();
Console.WriteLine("ratios service/raw (throughput: higher is better, goal >= 0.80; p99: lower is better, goal <= 1.50):");
foreach (var (name, upload, rawPut, _, download, rawGet) in results)
{
    Console.WriteLine($"  {name}: upload req/s {Ratio(upload.RequestsPerSecond, rawPut.RequestsPerSecond)}, upload p99 {Ratio(upload.P99, rawPut.P99)}x raw PUT; " +
                      $"download req/s {Ratio(download.RequestsPerSecond, rawGet.RequestsPerSecond)}, download p99 {Ratio(download.P99, rawGet.P99)}x raw GET");
}

Console.WriteLine($"service peak RSS (VmHWM): {RssMonitor.Format(rss.HighWaterMark())}; highest RSS sampled during phases: {RssMonitor.Format(rss.PeakSampled)}");
return results.All(r => r.Service.Errors == 0 && r.Download.Errors == 0) ? 0 : 2;

static string Ratio(double a, double b) => b > 0 ? (a / b).ToString("0.00", CultureInfo.InvariantCulture) : "n/a";

// The service starts cold (JIT, connection pools, PostgreSQL plans): every request kind, service and
// raw, runs for --warmup seconds first so the first measured phase is not the one that pays for it.
async Task WarmUpAsync()
{
    if (options.WarmUp <= TimeSpan.Zero)
    {
        return;
    }

    var warm = options with { Duration = options.WarmUp };
    var warmed = 0;
    foreach (var imagePath in options.Images)
    {
        var image = await File.ReadAllBytesAsync(imagePath);
        var name = $"warm-{Guid.NewGuid():N}";
        var phase = await Phase.RunAsync("warm-up", warm, async (i, token) =>
        {
            var (status, id, _) = await Requests.UploadAsync(http, image, consentIds[i % consentIds.Length], token);
            using var link = await http.PostAsync($"/v1/images/{id}/links", content: null, token);
            var url = (await link.Content.ReadFromJsonAsync<JsonElement>(token)).GetProperty("url").GetString()!;
            await Requests.DownloadAsync(http, url, token);
            await raw.UploadAsync($"{name}-{i}", new MemoryStream(image, writable: false), token);
            await using var body = await raw.DownloadStreamingAsync($"{name}-{i}", token);
            await Requests.DrainAsync(body, token);
            return (status, 0);
        });
        warmed += phase.Requests;
    }

    Console.WriteLine($"warm-up: {warmed} rounds of upload, link, download, raw PUT and raw GET ({options.WarmUp.TotalSeconds:0} s per image), not counted");
}

/// <summary>The requests the phases send, shared by the comparison and the sweep modes.</summary>
internal static class Requests
{
    public static async Task<(int Status, Guid Id, long Bytes)> UploadAsync(HttpClient http, byte[] image, Guid consentId, CancellationToken cancellationToken)
    {
        using var form = new MultipartFormDataContent();
        form.Add(new StringContent(consentId.ToString()), "consentId");
        var file = new ByteArrayContent(image);
        file.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        form.Add(file, "file", "photo.jpg");
        using var response = await http.PostAsync("/v1/images", form, cancellationToken);
        if ((int)response.StatusCode != 201)
        {
            return ((int)response.StatusCode, Guid.Empty, 0);
        }

        var body = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        return (201, body.GetProperty("id").GetGuid(), body.GetProperty("bytes").GetInt64());
    }

    public static async Task<(int Status, long Bytes)> DownloadAsync(HttpClient http, string url, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        return ((int)response.StatusCode, await DrainAsync(body, cancellationToken));
    }

    public static async Task<long> DrainAsync(Stream body, CancellationToken cancellationToken)
    {
        var buffer = new byte[81920];
        long bytes = 0;
        int read;
        while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            bytes += read;
        }

        return bytes;
    }
}

internal sealed record LoadOptions(
    Uri BaseUrl, string ApiKey, string Azurite, string Container, int Pid, int Concurrency, TimeSpan Duration, int MaxRequests, IReadOnlyList<string> Images,
    TimeSpan WarmUp, int SweepImages, int SweepRounds, double SweepRate, string? Postgres, CpuMonitor? Cpu)
{
    public static LoadOptions Parse(string[] args)
    {
        var values = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        string? key = null;
        foreach (var arg in args)
        {
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                key = arg[2..];
                values.TryAdd(key, []);
            }
            else if (key is not null)
            {
                values[key].Add(arg);
            }
        }

        string One(string name) => values.TryGetValue(name, out var v) && v.Count > 0 ? v[0]
            : throw new ArgumentException($"--{name} is required (usage: --base-url URL --api-key KEY --azurite CONN --container NAME --pid PID " +
                                          "[--concurrency 16] [--duration 20] [--max-requests 20000] [--warmup 3] " +
                                          "[--sweep N --sweep-rounds 1 --sweep-rate DELETES_PER_S --postgres CONN] [--cpu NAME=PID ...] [--clock-ticks 100] --images A.jpg B.jpg)");
        int Int(string name, int fallback, int min, int max) => values.ContainsKey(name) ? Math.Clamp(int.Parse(One(name), CultureInfo.InvariantCulture), min, max) : fallback;
        var sweep = Int("sweep", 0, 0, 1_000_000);
        return new LoadOptions(
            new Uri(One("base-url")), One("api-key"), One("azurite"), One("container"), int.Parse(One("pid"), CultureInfo.InvariantCulture),
            Int("concurrency", 16, 1, 1024), TimeSpan.FromSeconds(Int("duration", 20, 1, 3600)), Int("max-requests", 20_000, 1, 10_000_000),
            values.TryGetValue("images", out var images) && images.Count > 0 ? images : throw new ArgumentException("--images is required"),
            TimeSpan.FromSeconds(Int("warmup", 3, 0, 600)), sweep, Int("sweep-rounds", 1, 1, 10), Int("sweep-rate", 0, 0, 100_000),
            sweep > 0 ? One("postgres") : null,
            values.TryGetValue("cpu", out var cpu) ? CpuMonitor.Parse(cpu, Int("clock-ticks", 100, 1, 1_000_000)) : null);
    }
}

/// <summary>One closed-loop phase: `Concurrency` workers send requests until the count or the time runs out.</summary>
internal static class Phase
{
    public sealed record Result(string Name, int Requests, int Errors, double Seconds, long Bytes, double P50, double P95, double P99, IReadOnlyDictionary<string, int> Statuses, string? CpuPerRequest)
    {
        public double RequestsPerSecond => Requests / Seconds;

        public void Print()
        {
            Console.WriteLine(
                $"{Name,-40} {Requests,7} req {RequestsPerSecond,8:0.0} req/s {Bytes / Seconds / 1e6,8:0.00} MB/s  p50 {P50,7:0.0} p95 {P95,7:0.0} p99 {P99,7:0.0} ms  " +
                $"statuses {string.Join(' ', Statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}:{s.Value}"))}");
            if (CpuPerRequest is not null)
            {
                Console.WriteLine($"  CPU ms per request: {CpuPerRequest}");
            }
        }
    }

    public static async Task<Result> RunAsync(string name, LoadOptions options, Func<int, CancellationToken, Task<(int Status, long Bytes)>> request, RssMonitor? rss = null)
    {
        using var time = new CancellationTokenSource(options.Duration);
        var latencies = new ConcurrentBag<double>();
        var statuses = new ConcurrentDictionary<string, int>();
        long bytes = 0;
        var next = -1;
        var cpuBefore = options.Cpu?.Snapshot();
        var clock = Stopwatch.StartNew();
        using var sampler = rss?.Sample(time.Token);
        var workers = Enumerable.Range(0, options.Concurrency).Select(_ => Task.Run(async () =>
        {
            int i;
            while (!time.IsCancellationRequested && (i = Interlocked.Increment(ref next)) < options.MaxRequests)
            {
                var started = Stopwatch.GetTimestamp();
                string status;
                try
                {
                    var (code, size) = await request(i, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(120));
                    status = code.ToString(CultureInfo.InvariantCulture);
                    if (code is >= 200 and < 300)
                    {
                        Interlocked.Add(ref bytes, size);
                    }
                }
                catch (Exception e)
                {
                    status = e.GetType().Name;
                }

                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                statuses.AddOrUpdate(status, 1, (_, c) => c + 1);
            }
        })).ToArray();
        await Task.WhenAll(workers);
        var seconds = clock.Elapsed.TotalSeconds;
        var cpu = options.Cpu is { } monitor ? monitor.PerRequest(cpuBefore!, monitor.Snapshot(), latencies.Count) : null;
        var sorted = latencies.Order().ToArray();
        double Percentile(double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
        var errors = statuses.Where(s => !s.Key.StartsWith('2')).Sum(s => s.Value);
        return new Result(name, sorted.Length, errors, seconds, bytes, Percentile(0.50), Percentile(0.95), Percentile(0.99), statuses, cpu);
    }
}

/// <summary>The service process's memory from /proc/PID/status: VmHWM (peak) and VmRSS sampled every 50 ms during phases.</summary>
internal sealed class RssMonitor(int pid)
{
    private long _peak;

    public long PeakSampled => Interlocked.Read(ref _peak);

    public long Current() => Read("VmRSS:");

    public long HighWaterMark() => Read("VmHWM:");

    public static string Format(long bytes) => bytes < 0 ? "unknown" : $"{bytes / 1024.0 / 1024.0:0.0} MiB";

    public IDisposable Sample(CancellationToken stop)
    {
        var done = new CancellationTokenSource();
        var linked = CancellationTokenSource.CreateLinkedTokenSource(stop, done.Token);
        _ = Task.Run(async () =>
        {
            while (!linked.IsCancellationRequested)
            {
                var now = Current();
                long seen;
                while (now > (seen = Interlocked.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, seen) != seen)
                {
                }

                try
                {
                    await Task.Delay(50, linked.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        });
        return done;
    }

    private long Read(string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                {
                    return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return -1;
    }
}
