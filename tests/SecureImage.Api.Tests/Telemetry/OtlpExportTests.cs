using System.Text;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests.Telemetry;

/// <summary>With <c>Telemetry:OtlpEndpoint</c> set, traces and metrics reach a real OTLP/HTTP receiver on loopback.</summary>
public sealed class OtlpExportTests
{
    [Fact]
    public async Task With_an_otlp_endpoint_configured_traces_and_metrics_are_exported_over_http_protobuf_without_personal_data()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var factory = new SecureImageFactory("Testing", new Dictionary<string, string?>
        {
            ["SecureImage:Telemetry:OtlpEndpoint"] = receiver.Endpoint.ToString(),
            ["SecureImage:Telemetry:MetricExportInterval"] = "00:00:01",
        });
        var client = factory.CreateBotClient();
        const string subject = "otlp-subject-4471";
        var uploaded = await client.UploadOkAsync(await client.CreateConsentAsync(subject), Corpus.Read("jpg_Canon_40D.jpg"));
        var download = await factory.CreateAnonymousClient().GetAsync(ApiClient.PathOf(uploaded.Link.Url));
        Assert.True(download.IsSuccessStatusCode);
        var signature = new Uri(uploaded.Link.Url).Query.Split("sig=")[1];

        var deadline = DateTime.UtcNow.AddSeconds(60);
        // Each metric is waited for: an export taken between the upload and the download has the one without the other.
        while (!(Contains(receiver.Of("traces"), "secureimage.download") && Contains(receiver.Of("metrics"), "secureimage.uploads") && Contains(receiver.Of("metrics"), "secureimage.downloads")))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no export within 60 s: {receiver.Exports.Count} requests ({string.Join(", ", receiver.Exports.Select(e => e.Path).Distinct())})");
            await Task.Delay(200);
        }

        Assert.All(receiver.Exports, e => Assert.Equal("application/x-protobuf", e.ContentType));
        Assert.True(Contains(receiver.Of("traces"), "secureimage.upload"));
        Assert.True(Contains(receiver.Of("traces"), uploaded.Id.ToString()));
        foreach (var secret in new[] { signature, "sig=", subject, "photo.jpg" })
        {
            Assert.False(Contains(receiver.Exports.ToList(), secret), $"an export contains '{secret}'");
        }
    }

    [Theory]
    [InlineData("SecureImage:Telemetry:OtlpEndpoint", "otel-collector:4318", "SecureImage:Telemetry:OtlpEndpoint")]
    [InlineData("SecureImage:Telemetry:OtlpEndpoint", "http://collector:4318/?token=secret", "SecureImage:Telemetry:OtlpEndpoint")]
    [InlineData("SecureImage:Telemetry:OtlpProtocol", "Thrift", "OtlpProtocol")]
    [InlineData("SecureImage:Telemetry:MetricExportInterval", "00:00:00", "SecureImage:Telemetry:MetricExportInterval")]
    public async Task The_service_refuses_to_start_with_an_invalid_telemetry_setting(string key, string value, string named)
    {
        using var factory = new SecureImageFactory("Testing", new Dictionary<string, string?> { [key] = value });

        var output = await factory.AssertRefusesToStartAsync();

        Assert.Contains(named, output, StringComparison.Ordinal);
        Assert.DoesNotContain("token=secret", output, StringComparison.Ordinal);
    }

    private static bool Contains(IReadOnlyList<OtlpExport> exports, string text)
    {
        var needle = Encoding.UTF8.GetBytes(text);
        return exports.Any(e => e.Body.AsSpan().IndexOf(needle) >= 0);
    }
}
