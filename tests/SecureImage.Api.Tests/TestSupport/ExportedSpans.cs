using System.Collections.ObjectModel;
using System.Diagnostics;

namespace SecureImage.Api.Tests.TestSupport;

/// <summary>
/// Spans as the OpenTelemetry in-memory exporter hands them over (after the service's own processors,
/// so what an OTLP exporter would send). Exporters see every host in the test process: tests pick their
/// own spans by trace id or by an id they know.
/// </summary>
internal sealed class ExportedSpans : Collection<Activity>
{
    private readonly Lock _gate = new();

    public IReadOnlyList<Activity> Snapshot()
    {
        lock (_gate)
        {
            return [.. this];
        }
    }

    /// <summary>Sends a W3C traceparent on every request of <paramref name="client"/>, so its server spans join <paramref name="traceId"/>.</summary>
    public static void Join(HttpClient client, ActivityTraceId traceId) =>
        client.DefaultRequestHeaders.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");

    /// <summary>Waits (up to 30 s) until the exported spans satisfy <paramref name="done"/>; returns them.</summary>
    public async Task<IReadOnlyList<Activity>> WaitForAsync(Func<IReadOnlyList<Activity>, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var spans = Snapshot();
            if (done(spans))
            {
                return spans;
            }

            Assert.True(DateTime.UtcNow < deadline, $"the expected spans were not exported within 30 s; exported: {string.Join(", ", spans.Select(s => s.OperationName).Distinct())}");
            await Task.Delay(100);
        }
    }

    /// <summary>Every text a span would export: names, status, attribute values, event names and their attributes, link attributes.</summary>
    public static IEnumerable<string> Texts(Activity span)
    {
        ArgumentNullException.ThrowIfNull(span);
        yield return span.OperationName;
        yield return span.DisplayName;
        yield return span.StatusDescription ?? "";
        foreach (var tag in span.TagObjects)
        {
            yield return $"{tag.Key}={tag.Value}";
        }

        foreach (var e in span.Events)
        {
            yield return e.Name;
            foreach (var tag in e.Tags)
            {
                yield return $"{tag.Key}={tag.Value}";
            }
        }

        foreach (var link in span.Links)
        {
            foreach (var tag in link.Tags ?? [])
            {
                yield return $"{tag.Key}={tag.Value}";
            }
        }
    }

    protected override void InsertItem(int index, Activity item)
    {
        lock (_gate)
        {
            base.InsertItem(index, item);
        }
    }

    protected override void ClearItems()
    {
        lock (_gate)
        {
            base.ClearItems();
        }
    }
}
