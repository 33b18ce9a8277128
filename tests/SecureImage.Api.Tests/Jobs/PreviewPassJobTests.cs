using Microsoft.Extensions.DependencyInjection;
using SecureImage.Api.Tests.TestSupport;
using SecureImage.Core.Catalog;

namespace SecureImage.Api.Tests.Jobs;

/// <summary>
/// The preview pass as a Hangfire job on Hangfire.PostgreSql, with two instances sharing the catalog, the blob store and
/// the job store: uploads on either get their previews, and the stored jobs carry no image id.
/// </summary>
public sealed class PreviewPassJobTests
{
    [Fact]
    public async Task On_PostgreSQL_uploads_on_two_instances_get_their_previews_from_runs_of_the_shared_preview_pass_job()
    {
        await using var backend = await ProductionBackend.CreateAsync();
        var settings = new Dictionary<string, string?>
        {
            ["SecureImage:Imaging:PreviewOnUpload"] = "true",
            ["SecureImage:Jobs:QueuePollInterval"] = "00:00:00.200",
        };
        using var first = backend.NewInstance(settings);
        using var second = backend.NewInstance(settings);
        var one = first.CreateBotClient();
        var two = second.CreateBotClient();

        var uploads = await Task.WhenAll(
            one.UploadOkAsync(await one.CreateConsentAsync(), Corpus.Read("jpg_gps_DSCN0010.jpg")),
            two.UploadOkAsync(await two.CreateConsentAsync(), Corpus.Read("jpg_Canon_40D.jpg")));

        var catalog = first.Services.GetRequiredService<IImageCatalog>();
        foreach (var upload in uploads)
        {
            await Kakao.KakaoTestHost.EventuallyAsync(
                async () => (await catalog.FindImageAsync(upload.Id, CancellationToken.None))!.PreviewState is not null,
                seconds: 120,
                describe: async () => $"jobs: {await backend.CountAsync("FROM hangfire.job WHERE invocationdata::text LIKE '%PreviewPassJob%'")}");
            Assert.Equal(PreviewState.Ready, (await catalog.FindImageAsync(upload.Id, CancellationToken.None))!.PreviewState);
        }

        // The runs carry no argument, so neither image's id is in the job store.
        Assert.True(await backend.CountAsync("FROM hangfire.job WHERE invocationdata::text LIKE '%PreviewPassJob%'") >= 1);
        foreach (var upload in uploads)
        {
            Assert.Equal(0, await backend.CountAsync($"FROM hangfire.job WHERE invocationdata::text LIKE '%{upload.Id}%' OR arguments::text LIKE '%{upload.Id}%'"));
        }
    }
}
