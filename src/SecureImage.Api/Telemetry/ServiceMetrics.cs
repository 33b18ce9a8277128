using System.Diagnostics.Metrics;
using SecureImage.Core.Diagnostics;

namespace SecureImage.Api.Telemetry;

/// <summary>
/// The request-path and Kakao figures (meter <c>SecureImage</c>): uploads stored, uploads rejected by
/// reason, downloads by outcome, erasures by reason, Kakao fetch failures by reason. Tags are stable
/// codes only. Sweep lag and the sweep's own counters are in <see cref="Jobs.RetentionMetrics"/>.
/// </summary>
internal sealed class ServiceMetrics : IDisposable
{
    public const string MeterName = "SecureImage";
    private readonly Meter _meter;
    private readonly Counter<long> _uploads;
    private readonly Counter<long> _rejected;
    private readonly Counter<long> _downloads;
    private readonly Counter<long> _erasures;
    private readonly Counter<long> _fetchFailures;

    public ServiceMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        _uploads = _meter.CreateCounter<long>("secureimage.uploads", unit: "{image}", description: "Images stored (sanitized, encrypted, committed), by source and format.");
        _rejected = _meter.CreateCounter<long>("secureimage.uploads.rejected", unit: "{upload}", description: "Uploads refused, by reason.");
        _downloads = _meter.CreateCounter<long>("secureimage.downloads", unit: "{request}", description: "Link downloads, by outcome (served, or the problem answered).");
        _erasures = _meter.CreateCounter<long>("secureimage.erasures", unit: "{image}", description: "Images erased (blob deleted, key shredded), by reason.");
        _fetchFailures = _meter.CreateCounter<long>("secureimage.kakao.fetch_failures", unit: "{attempt}", description: "Failed Kakao fetch attempts, by reason and whether the fetch is retried or given up.");
    }

    public void Uploaded(string source, string format) =>
        _uploads.Add(1, new("secureimage.source", source), new(Tracing.Tags.Format, format));

    public void UploadRejected(string reason) => _rejected.Add(1, new KeyValuePair<string, object?>(Tracing.Tags.Reason, reason));

    public void Downloaded(string outcome) => _downloads.Add(1, new KeyValuePair<string, object?>(Tracing.Tags.Outcome, outcome));

    public void Erased(string reason, int count = 1)
    {
        if (count > 0)
        {
            _erasures.Add(count, new KeyValuePair<string, object?>(Tracing.Tags.Reason, reason));
        }
    }

    public void FetchFailed(string reason, bool givenUp) =>
        _fetchFailures.Add(1, new(Tracing.Tags.Reason, reason), new(Tracing.Tags.Outcome, givenUp ? "given-up" : "retrying"));

    public void Dispose() => _meter.Dispose();
}
