using System.Net.Http.Json;
using SecureImage.Api.Tests.Faults;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests.Jobs;

/// <summary>
/// The real service on the embedded default (SQLite, files, Hangfire.InMemory), configured with no server of any
/// kind: it starts, its Hangfire server announces the in-memory store, and its sweep erases an image when it expires.
/// </summary>
public sealed class EmbeddedDefaultStartupTests
{
    [Fact]
    public async Task Without_any_server_the_service_starts_and_its_Hangfire_sweep_erases_an_image_when_it_expires()
    {
        var settings = new Dictionary<string, string?>(SecureImageFactory.NewKeySettings())
        {
            ["SecureImage:Retention:Period"] = "00:00:03",
            ["SecureImage:Retention:SweepInterval"] = "00:00:01",
        };
        await using var service = new ServiceProcess(settings);
        await service.StartAsync(new Dictionary<string, string> { ["Logging:LogLevel:Hangfire"] = "Information" });
        using var client = service.CreateClient();

        var uploaded = await client.UploadOkAsync(await client.CreateConsentAsync(), Corpus.Read("jpg_Canon_40D.jpg"));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        ImageBody image;
        while ((image = (await client.GetFromJsonAsync<ImageBody>($"/v1/images/{uploaded.Id}"))!).Status != "erased")
        {
            Assert.True(DateTime.UtcNow < deadline, $"the image was not erased a minute after it expired:\n{service.Output}");
            await Task.Delay(200);
        }

        Assert.Equal("retention", image.EraseReason);
        Assert.Contains("Starting Hangfire Server using job storage: 'In-Memory Storage'", service.Output, StringComparison.Ordinal);

        // The job store is memory: the data folder holds the catalog, the blobs and the keys, nothing of Hangfire's.
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(service.DataDirectory, "*", SearchOption.AllDirectories), p => p.Contains("hangfire", StringComparison.OrdinalIgnoreCase));
    }
}
