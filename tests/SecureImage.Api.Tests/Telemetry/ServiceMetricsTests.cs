using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using SecureImage.Api.Telemetry;
using SecureImage.Api.Tests.Kakao;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests.Telemetry;

/// <summary>
/// The issue's figures as counters on the <c>SecureImage</c> meter, driven through the HTTP API and the
/// jobs, read with a <see cref="MeterListener"/> limited to this test's host.
/// </summary>
public sealed class ServiceMetricsTests
{
    [Fact]
    public async Task Uploads_rejections_downloads_and_erasures_are_counted_by_reason_and_outcome()
    {
        using var factory = new SecureImageFactory("Testing", new Dictionary<string, string?> { ["SecureImage:Retention:SweepInterval"] = "00:00:01" });
        factory.Time.Flowing = true;
        var client = factory.CreateBotClient();
        var anonymous = factory.CreateAnonymousClient();
        using var counts = Counts.Listen(factory);

        var consentId = await client.CreateConsentAsync();
        var deleted = await client.UploadOkAsync(consentId, Corpus.Read("jpg_Canon_40D.jpg"));
        var expiring = await client.UploadOkAsync(consentId, Corpus.Read("png_text_gps_xmp.png"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await client.UploadAsync(consentId, Encoding.UTF8.GetBytes("%PDF-1.7"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.UploadAsync(null, Corpus.Read("jpg_Canon_40D.jpg"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(ApiClient.PathOf(deleted.Link.Url))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await anonymous.GetAsync(ApiClient.PathOf(deleted.Link.Url).Replace("sig=", "sig=A", StringComparison.Ordinal))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/images/{deleted.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Gone, (await anonymous.GetAsync(ApiClient.PathOf(deleted.Link.Url))).StatusCode);
        var withdrawn = await client.CreateConsentAsync("user-2");
        await client.UploadOkAsync(withdrawn, Corpus.Read("jpg_Nikon_D70.jpg"));
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/consents/{withdrawn}")).StatusCode);
        factory.Time.Set(expiring.ExpiresAt);

        await counts.WaitForAsync("secureimage.erasures{secureimage.reason=retention}", 1);
        Assert.Equal(2, counts["secureimage.uploads{secureimage.image.format=jpeg,secureimage.source=upload}"]);
        Assert.Equal(1, counts["secureimage.uploads{secureimage.image.format=png,secureimage.source=upload}"]);
        Assert.Equal(1, counts["secureimage.uploads.rejected{secureimage.reason=bad-type}"]);
        Assert.Equal(1, counts["secureimage.uploads.rejected{secureimage.reason=no-consent}"]);
        Assert.Equal(1, counts["secureimage.downloads{secureimage.outcome=served}"]);
        Assert.Equal(1, counts["secureimage.downloads{secureimage.outcome=link-invalid}"]);
        Assert.Equal(1, counts["secureimage.downloads{secureimage.outcome=image-gone}"]);
        Assert.Equal(1, counts["secureimage.erasures{secureimage.reason=deleted-by-bot}"]);
        Assert.Equal(1, counts["secureimage.erasures{secureimage.reason=consent-withdrawn}"]);
    }

    [Fact]
    public async Task Kakao_images_stored_and_fetches_given_up_are_counted_with_their_reason()
    {
        await using var kakao = await FakeKakao.StartAsync();
        using var factory = KakaoTestHost.Create(kakao);
        var client = factory.CreateBotClient();
        using var counts = Counts.Listen(factory);
        var soon = factory.Time.GetUtcNow().AddMinutes(10);

        var answer = await client.PostSkillAsync(KakaoTestHost.Payload([kakao.ImageUrl("jpg_gps_DSCN0010.jpg", soon), kakao.ImageUrl("not-an-image.txt", soon, extra: "&bytes=1000")]));

        Assert.Equal("partial", answer.Data("status"));
        await counts.WaitForAsync("secureimage.kakao.fetch_failures{secureimage.outcome=given-up,secureimage.reason=bad-type}", 1);
        Assert.Equal(1, counts["secureimage.uploads{secureimage.image.format=jpeg,secureimage.source=kakao}"]);
    }

    /// <summary>Sums of every long counter on this host's <c>SecureImage</c> meter, keyed "name{tag=value,…}" (tags sorted).</summary>
    private sealed class Counts : IDisposable
    {
        private readonly ConcurrentDictionary<string, long> _sums = new(StringComparer.Ordinal);
        private readonly MeterListener _listener = new();

        public long this[string key] => _sums.GetValueOrDefault(key);

        public static Counts Listen(SecureImageFactory factory)
        {
            var meterFactory = factory.Services.GetRequiredService<IMeterFactory>();
            var counts = new Counts();
            counts._listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == ServiceMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, meterFactory))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            counts._listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                var key = $"{instrument.Name}{{{string.Join(',', tags.ToArray().Select(t => $"{t.Key}={t.Value}").Order(StringComparer.Ordinal))}}}";
                counts._sums.AddOrUpdate(key, value, (_, sum) => sum + value);
            });
            counts._listener.Start();
            return counts;
        }

        public async Task WaitForAsync(string key, long atLeast)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (this[key] < atLeast)
            {
                Assert.True(DateTime.UtcNow < deadline, $"{key} did not reach {atLeast} within 30 s; counted: {string.Join("; ", _sums.Select(p => $"{p.Key}={p.Value}"))}");
                await Task.Delay(100);
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
