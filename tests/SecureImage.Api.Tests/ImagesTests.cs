using System.Net;
using System.Net.Http.Json;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests;

public sealed class ImagesTests(SecureImageFactory factory) : IClassFixture<SecureImageFactory>
{
    [Fact]
    public async Task Image_metadata_is_served_to_its_bot()
    {
        var client = factory.CreateBotClient();
        var consentId = await client.CreateConsentAsync();
        var uploaded = await client.UploadOkAsync(consentId, Corpus.Read("jpg_Canon_40D.jpg"));

        var image = await client.GetFromJsonAsync<ImageBody>($"/v1/images/{uploaded.Id}");

        Assert.Equal(uploaded.Id, image!.Id);
        Assert.Equal(consentId, image.ConsentId);
        Assert.Equal((uploaded.Bytes, uploaded.Width, uploaded.Height), (image.Bytes, image.Width, image.Height));
        Assert.Equal(uploaded.ExpiresAt, image.ExpiresAt);
        Assert.Equal("active", image.Status);
    }

    [Fact]
    public async Task An_unknown_image_answers_404()
    {
        var client = factory.CreateBotClient();

        await (await client.GetAsync($"/v1/images/{Guid.NewGuid()}")).AssertProblemAsync(HttpStatusCode.NotFound, "not-found");
        await (await client.DeleteAsync($"/v1/images/{Guid.NewGuid()}")).AssertProblemAsync(HttpStatusCode.NotFound, "not-found");
        await (await client.PostAsync($"/v1/images/{Guid.NewGuid()}/links", null)).AssertProblemAsync(HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task Deleting_an_image_erases_it_and_its_links_answer_410()
    {
        var client = factory.CreateBotClient();
        var consentId = await client.CreateConsentAsync();
        var uploaded = await client.UploadOkAsync(consentId, Corpus.Read("jpg_Canon_40D.jpg"));

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/images/{uploaded.Id}")).StatusCode);

        await (await factory.CreateAnonymousClient().GetAsync(ApiClient.PathOf(uploaded.Link.Url))).AssertProblemAsync(HttpStatusCode.Gone, "image-gone");
        var image = await client.GetFromJsonAsync<ImageBody>($"/v1/images/{uploaded.Id}");
        Assert.Equal("erased", image!.Status);
        Assert.Equal("deleted-by-bot", image.EraseReason);
        Assert.Equal(factory.Time.GetUtcNow(), image.ErasedAt);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/images/{uploaded.Id}")).StatusCode);
    }

    [Fact]
    public async Task A_bot_never_sees_another_bots_image_or_consent()
    {
        var owner = factory.CreateBotClient(SecureImageFactory.BotAKey);
        var other = factory.CreateBotClient(SecureImageFactory.BotBKey);
        var consentId = await owner.CreateConsentAsync();
        var uploaded = await owner.UploadOkAsync(consentId, Corpus.Read("jpg_Canon_40D.jpg"));

        await (await other.GetAsync($"/v1/images/{uploaded.Id}")).AssertProblemAsync(HttpStatusCode.NotFound, "not-found");
        await (await other.PostAsync($"/v1/images/{uploaded.Id}/links", null)).AssertProblemAsync(HttpStatusCode.NotFound, "not-found");
        await (await other.DeleteAsync($"/v1/images/{uploaded.Id}")).AssertProblemAsync(HttpStatusCode.NotFound, "not-found");
        await (await other.GetAsync($"/v1/consents/{consentId}")).AssertProblemAsync(HttpStatusCode.NotFound, "not-found");
        await (await other.DeleteAsync($"/v1/consents/{consentId}")).AssertProblemAsync(HttpStatusCode.NotFound, "not-found");

        // Nothing the other bot tried changed anything.
        Assert.Equal("active", (await owner.GetFromJsonAsync<ImageBody>($"/v1/images/{uploaded.Id}"))!.Status);
        Assert.Equal(HttpStatusCode.OK, (await factory.CreateAnonymousClient().GetAsync(ApiClient.PathOf(uploaded.Link.Url))).StatusCode);
    }
}
