using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests.Faults;

/// <summary>One upload of the load: when it was sent and answered (stopwatch time), and how.</summary>
internal sealed record UploadOutcome(TimeSpan SentAt, TimeSpan AnsweredAt, string Outcome, Guid? ImageId);

/// <summary>
/// Workers that upload real corpus JPEGs to a running service continuously, each waiting for its answer
/// before the next upload, and record every outcome. The fault scenarios break something under this
/// load, then check with <see cref="AssertAcknowledgedDownloadExactlyAsync"/> that nothing acknowledged was lost.
/// </summary>
internal sealed class UploadLoad
{
    public const string NoAnswer = "no answer";

    /// <summary>A 503 that is not the documented service-unavailable problem with Retry-After: 5.</summary>
    public const string Undocumented503 = "503 without service-unavailable problem and Retry-After: 5";

    private static readonly string[] Images =
    [
        "jpg_Canon_40D.jpg", "jpg_Nikon_D70.jpg", "jpg_gps_DSCN0010.jpg", "jpg_orientation_landscape_6.jpg",
        "jpg_orientation_portrait_8.jpg", "jpg_xmp_BlueSquare.jpg",
    ];

    private readonly ConcurrentQueue<UploadOutcome> _outcomes = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _sent;

    private UploadLoad(Dictionary<string, byte[]> originals, Dictionary<string, byte[]> sanitized)
    {
        Originals = originals;
        Sanitized = sanitized;
    }

    public IReadOnlyDictionary<string, byte[]> Originals { get; }

    /// <summary>What the service stores for each original: the sanitizer's output.</summary>
    public IReadOnlyDictionary<string, byte[]> Sanitized { get; }

    /// <summary>Every image answered 201, with the corpus file it was uploaded from.</summary>
    public ConcurrentDictionary<Guid, string> Acknowledged { get; } = new();

    public int Sent => Volatile.Read(ref _sent);

    public IReadOnlyCollection<UploadOutcome> Outcomes => _outcomes;

    /// <summary>The load's own clock, the one <see cref="UploadOutcome"/> times are on.</summary>
    public TimeSpan Now => _clock.Elapsed;

    /// <summary>Originals and sanitized images, both: what a plaintext scan looks for.</summary>
    public IEnumerable<byte[]> AllImageBytes => Images.SelectMany(name => new[] { Originals[name], Sanitized[name] });

    public static async Task<UploadLoad> CreateAsync()
    {
        var originals = Images.ToDictionary(name => name, Corpus.Read);
        var sanitized = new Dictionary<string, byte[]>();
        foreach (var (name, bytes) in originals)
        {
            sanitized[name] = await Corpus.SanitizedAsync(bytes);
        }

        return new UploadLoad(originals, sanitized);
    }

    /// <summary>
    /// Runs <paramref name="workers"/> workers until <paramref name="stop"/> is cancelled or
    /// <paramref name="maxRequests"/> are sent; uploads in flight at the stop still get their answer.
    /// After a refusal a worker pauses <paramref name="pauseAfterRefusal"/>, so an outage is not a busy loop.
    /// </summary>
    public Task RunAsync(HttpClient client, Guid consentId, int workers, int maxRequests, TimeSpan pauseAfterRefusal, CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var n = Interlocked.Increment(ref _sent);
                if (n > maxRequests)
                {
                    Interlocked.Decrement(ref _sent);
                    return;
                }

                var outcome = await UploadOnceAsync(client, consentId, Images[n % Images.Length]);
                _outcomes.Enqueue(outcome);
                if (outcome.ImageId is null && pauseAfterRefusal > TimeSpan.Zero)
                {
                    await Task.Delay(pauseAfterRefusal, CancellationToken.None);
                }
            }
        })));

    /// <summary>Waits (bounded) until <paramref name="condition"/> holds, failing with <paramref name="what"/> otherwise.</summary>
    public async Task WaitUntilAsync(Func<UploadLoad, bool> condition, TimeSpan limit, string what)
    {
        var deadline = _clock.Elapsed + limit;
        while (!condition(this))
        {
            Assert.True(_clock.Elapsed < deadline, $"{what} did not happen within {limit.TotalSeconds:0} s: {Summary()}");
            await Task.Delay(20);
        }
    }

    /// <summary>Outcomes counted by kind, e.g. "201: 120, 503: 40".</summary>
    public string Summary() =>
        $"sent {Sent}, acknowledged {Acknowledged.Count}, outcomes " +
        string.Join(", ", _outcomes.GroupBy(o => o.Outcome).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}: {g.Count()}"));

    /// <summary>Every acknowledged upload: a fresh link downloads exactly the sanitized image.</summary>
    public async Task AssertAcknowledgedDownloadExactlyAsync(ServiceProcess service)
    {
        using var client = service.CreateClient();
        using var anonymous = service.CreateClient(apiKey: null);
        foreach (var (id, name) in Acknowledged)
        {
            using var linkResponse = await client.PostAsync($"/v1/images/{id}/links", content: null);
            Assert.True(linkResponse.StatusCode == HttpStatusCode.Created, $"link for acknowledged {id} answered {(int)linkResponse.StatusCode}");
            var link = (await linkResponse.Content.ReadFromJsonAsync<LinkBody>())!;
            var bytes = await anonymous.GetByteArrayAsync(link.Url);
            Assert.True(Sanitized[name].AsSpan().SequenceEqual(bytes), $"acknowledged {id} ({name}) downloads other bytes");
        }
    }

    private async Task<UploadOutcome> UploadOnceAsync(HttpClient client, Guid consentId, string name)
    {
        var sentAt = _clock.Elapsed;
        string outcome;
        Guid? imageId = null;
        try
        {
            using var response = await client.UploadAsync(consentId, Originals[name]);
            outcome = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
            if (response.StatusCode == HttpStatusCode.Created)
            {
                imageId = (await response.Content.ReadFromJsonAsync<UploadBody>())!.Id;
                Acknowledged[imageId.Value] = name;
            }
            else if (response.StatusCode == HttpStatusCode.ServiceUnavailable && !await IsDocumentedUnavailableAsync(response))
            {
                outcome = Undocumented503;
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            outcome = NoAnswer;
        }

        return new UploadOutcome(sentAt, _clock.Elapsed, outcome, imageId);
    }

    private static async Task<bool> IsDocumentedUnavailableAsync(HttpResponseMessage response)
    {
        if (response.Headers.RetryAfter?.ToString() != "5" || response.Content.Headers.ContentType?.MediaType != "application/problem+json")
        {
            return false;
        }

        var problem = await response.ReadProblemAsync();
        return problem.Type == ApiClient.ProblemPrefix + "service-unavailable" && problem.Status == 503 && !string.IsNullOrWhiteSpace(problem.Detail);
    }
}
