using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;
using OpenTelemetry.Trace;
using SecureImage.Api.Configuration;
using SecureImage.Api.Tests.Kakao;
using SecureImage.Api.Tests.TestSupport;
using SecureImage.Core.Diagnostics;

namespace SecureImage.Api.Tests.Telemetry;

/// <summary>
/// The spans the service exports, read through the OpenTelemetry in-memory exporter (after the service's
/// redaction, as OTLP would send them): one per step of an upload, a download, a sweep and a Kakao fetch,
/// and nothing personal or secret in any attribute.
/// </summary>
public sealed class TracingTests
{
    private const string SubjectId = "kakao-user-8841-private";
    private const string FileName = "jane-doe-passport-scan.jpg";
    private const string ServerSource = "Microsoft.AspNetCore";

    [Fact]
    public async Task An_upload_and_a_download_are_traced_step_by_step_and_no_attribute_holds_the_link_signature_the_subject_or_the_file_name()
    {
        var spans = new ExportedSpans();
        using var factory = new SecureImageFactory("Testing", new Dictionary<string, string?> { ["SecureImage:Retention:SweepInterval"] = "00:00:01" }, services: s => s.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(spans)));
        var traceId = ActivityTraceId.CreateRandom();
        var client = factory.CreateBotClient();
        var anonymous = factory.CreateAnonymousClient();
        ExportedSpans.Join(client, traceId);
        ExportedSpans.Join(anonymous, traceId);

        var consentId = await client.CreateConsentAsync(SubjectId);
        var created = await client.UploadAsync(consentId, Corpus.Read("jpg_gps_DSCN0010.jpg"), FileName);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var uploaded = (await created.Content.ReadFromJsonAsync<UploadBody>())!;
        var rejected = await client.UploadAsync(consentId, Encoding.UTF8.GetBytes("<html><body>not an image</body></html>"), "statement-of-jane-doe.html", "image/jpeg");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, rejected.StatusCode);
        var download = await anonymous.GetAsync(ApiClient.PathOf(uploaded.Link.Url));
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        await download.Content.ReadAsByteArrayAsync();

        // Four requests (consent, two uploads, download), each a server span once it has ended.
        var trace = (await spans.WaitForAsync(all => all.Count(s => s.TraceId == traceId && s.Source.Name == ServerSource) >= 4 && all.Any(s => s.TraceId == traceId && s.OperationName == "secureimage.download")))
            .Where(s => s.TraceId == traceId).ToList();
        Activity Single(string name, string? outcome = null) => Assert.Single(trace, s => s.OperationName == name && (outcome is null || Equals(s.GetTagItem(Tracing.Tags.Outcome), outcome)));

        var upload = Single("secureimage.upload", "stored");
        Assert.Equal((uploaded.Id.ToString(), "bot-a", "jpeg"), (upload.GetTagItem(Tracing.Tags.ImageId)?.ToString(), upload.GetTagItem(Tracing.Tags.BotId), upload.GetTagItem(Tracing.Tags.Format)));
        Assert.Equal(ServerSource, trace.Single(s => s.SpanId == upload.ParentSpanId).Source.Name);
        var store = Assert.Single(trace, s => s.OperationName == "secureimage.image.store" && s.ParentSpanId == upload.SpanId);
        foreach (var step in new[] { "secureimage.kek.wrap", "secureimage.sanitize", "secureimage.blob.put" })
        {
            Assert.Contains(trace, s => s.OperationName == step && s.ParentSpanId == store.SpanId && s.Status != ActivityStatusCode.Error);
        }

        var sanitize = trace.Single(s => s.OperationName == "secureimage.sanitize" && s.ParentSpanId == store.SpanId);
        Assert.Contains(sanitize.Events, e => e.Name == "secureimage.encrypted");
        Assert.Equal(upload.SpanId, Single("secureimage.catalog.commit", "committed").ParentSpanId);

        var refused = Single("secureimage.upload", "rejected");
        Assert.Equal("bad-type", refused.GetTagItem(Tracing.Tags.Reason));
        Assert.Contains(trace, s => s.OperationName == "secureimage.sanitize" && s.ParentSpanId != store.SpanId && s.Status == ActivityStatusCode.Error);

        var served = Single("secureimage.download", "served");
        Assert.Equal(uploaded.Id.ToString(), served.GetTagItem(Tracing.Tags.ImageId)?.ToString());
        Assert.Contains(trace, s => s.OperationName == "secureimage.kek.unwrap" && s.ParentSpanId == served.SpanId);
        var downloadServer = trace.Single(s => s.SpanId == served.ParentSpanId);
        Assert.Equal(($"/v1/downloads/{uploaded.Id}", (object?)null), (downloadServer.GetTagItem("url.path") as string, downloadServer.GetTagItem("url.query")));

        var signature = QueryHelpers.ParseQuery(new Uri(uploaded.Link.Url).Query)["sig"].ToString();
        Assert.False(string.IsNullOrEmpty(signature));
        var texts = trace.SelectMany(ExportedSpans.Texts).ToList();
        foreach (var secret in new[] { signature, "sig=", SubjectId, FileName, "statement-of-jane-doe", new Uri(uploaded.Link.Url).Query })
        {
            Assert.DoesNotContain(texts, text => text.Contains(secret, StringComparison.Ordinal));
        }

        Assert.DoesNotContain(trace.SelectMany(s => s.TagObjects), tag => TelemetryRedaction.DroppedTags.Contains(tag.Key));

        // The retention job runs every 200 ms here: its runs are spans of their own, with counts only.
        var sweep = (await spans.WaitForAsync(all => all.Any(s => s.OperationName == "secureimage.retention.sweep" && s.GetTagItem(Tracing.Tags.Erased) is not null)))
            .First(s => s.OperationName == "secureimage.retention.sweep" && s.GetTagItem(Tracing.Tags.Erased) is not null);
        Assert.Equal(default, sweep.ParentSpanId);
        Assert.NotNull(sweep.GetTagItem(Tracing.Tags.LagSeconds));
    }

    [Fact]
    public async Task Kakao_fetches_are_traced_by_request_with_outcome_and_reason_and_never_record_the_image_url_or_the_user_key()
    {
        var spans = new ExportedSpans();
        await using var kakao = await FakeKakao.StartAsync();
        using var factory = KakaoTestHost.Create(kakao, services: s => s.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(spans)));
        var client = factory.CreateBotClient();
        var soon = factory.Time.GetUtcNow().AddMinutes(10);
        var urls = new[] { kakao.ImageUrl("jpg_gps_DSCN0010.jpg", soon), kakao.ImageUrl("not-an-image.txt", soon, extra: "&bytes=1000") };
        const string userKey = "kakao-user-5521-private";

        var answer = await client.PostSkillAsync(KakaoTestHost.Payload(urls, userKey: userKey));

        Assert.Equal("partial", answer.Data("status"));
        var requestId = answer.Data("requestId");
        var fetches = (await spans.WaitForAsync(all => all.Count(s => s.OperationName == "secureimage.kakao.fetch" && s.GetTagItem(Tracing.Tags.RequestId)?.ToString() == requestId) == 2))
            .Where(s => s.OperationName == "secureimage.kakao.fetch" && s.GetTagItem(Tracing.Tags.RequestId)?.ToString() == requestId).ToList();
        var stored = Assert.Single(fetches, s => Equals(s.GetTagItem(Tracing.Tags.Outcome), "stored"));
        Assert.Equal(answer.ImageIds().Single().ToString(), stored.GetTagItem(Tracing.Tags.ImageId)?.ToString());
        Assert.Contains(spans.Snapshot(), s => s.OperationName == "secureimage.image.store" && s.ParentSpanId == stored.SpanId);
        var failed = Assert.Single(fetches, s => Equals(s.GetTagItem(Tracing.Tags.Outcome), "given-up"));
        Assert.Equal("bad-type", failed.GetTagItem(Tracing.Tags.Reason));

        var texts = spans.Snapshot().Where(s => fetches.Any(f => f.TraceId == s.TraceId)).SelectMany(ExportedSpans.Texts).ToList();
        foreach (var secret in new[] { "cdn.test", "127.0.0.1", "expires=", userKey, "jpg_gps_DSCN0010", "not-an-image" })
        {
            Assert.DoesNotContain(texts, text => text.Contains(secret, StringComparison.Ordinal));
        }
    }
}
