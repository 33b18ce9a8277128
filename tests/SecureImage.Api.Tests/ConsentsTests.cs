using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests;

public sealed class ConsentsTests(SecureImageFactory factory) : IClassFixture<SecureImageFactory>
{
    [Fact]
    public async Task Recording_a_consent_answers_201_with_its_id_and_time()
    {
        var client = factory.CreateBotClient();
        var response = await client.PostAsJsonAsync("/v1/consents", new { subjectId = "kakao-user-1", purpose = "id-check", policyVersion = "v3" });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = body.GetProperty("id").GetGuid();
        Assert.NotEqual(Guid.Empty, id);
        Assert.Equal(factory.Time.GetUtcNow(), body.GetProperty("grantedAt").GetDateTimeOffset());
        Assert.Equal($"/v1/consents/{id}", response.Headers.Location?.OriginalString);
    }

    [Theory]
    [InlineData("{\"purpose\":\"p\",\"policyVersion\":\"v\"}")]
    [InlineData("{\"subjectId\":\"\",\"purpose\":\"p\",\"policyVersion\":\"v\"}")]
    [InlineData("{\"subjectId\":\"u\",\"policyVersion\":\"v\"}")]
    [InlineData("{\"subjectId\":\"u\",\"purpose\":\"p\"}")]
    [InlineData("{\"subjectId\":42,\"purpose\":\"p\",\"policyVersion\":\"v\"}")]
    [InlineData("{not json")]
    [InlineData("null")]
    [InlineData("")]
    public async Task A_bad_consent_body_answers_400_problem(string json)
    {
        var client = factory.CreateBotClient();
        var response = await client.PostAsync("/v1/consents", new StringContent(json, Encoding.UTF8, "application/json"));

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "bad-request");
    }

    [Fact]
    public async Task A_subject_id_longer_than_256_characters_answers_400()
    {
        var client = factory.CreateBotClient();
        var response = await client.PostAsJsonAsync("/v1/consents", new { subjectId = new string('x', 257), purpose = "p", policyVersion = "v" });

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "bad-request");
    }

    [Fact]
    public async Task A_consent_sent_as_form_data_answers_415_problem()
    {
        var client = factory.CreateBotClient();
        var response = await client.PostAsync("/v1/consents", new FormUrlEncodedContent([KeyValuePair.Create("subjectId", "u")]));

        await response.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
    }

    [Fact]
    public async Task Without_an_api_key_every_bot_endpoint_answers_401_problem()
    {
        var client = factory.CreateAnonymousClient();
        var id = Guid.NewGuid();
        var responses = new[]
        {
            await client.PostAsJsonAsync("/v1/consents", new { subjectId = "u", purpose = "p", policyVersion = "v" }),
            await client.DeleteAsync($"/v1/consents/{id}"),
            await client.PostAsync("/v1/images", new MultipartFormDataContent()),
            await client.GetAsync($"/v1/images/{id}"),
            await client.DeleteAsync($"/v1/images/{id}"),
            await client.PostAsync($"/v1/images/{id}/links", null),
        };

        foreach (var response in responses)
        {
            await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        }
    }

    [Fact]
    public async Task An_unknown_api_key_answers_401_problem()
    {
        var client = factory.CreateBotClient("not-a-key");
        var response = await client.PostAsJsonAsync("/v1/consents", new { subjectId = "u", purpose = "p", policyVersion = "v" });

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task Withdrawing_an_unknown_consent_answers_404()
    {
        var client = factory.CreateBotClient();
        var response = await client.DeleteAsync($"/v1/consents/{Guid.NewGuid()}");

        await response.AssertProblemAsync(HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task Withdrawing_a_consent_twice_answers_204_both_times()
    {
        var client = factory.CreateBotClient();
        var consentId = await client.CreateConsentAsync();

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/consents/{consentId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/consents/{consentId}")).StatusCode);
        var consent = await client.GetFromJsonAsync<JsonElement>($"/v1/consents/{consentId}");
        Assert.Equal(JsonValueKind.String, consent.GetProperty("withdrawnAt").ValueKind);
    }

    [Fact]
    public async Task Withdrawing_a_consent_makes_its_images_links_answer_410_and_erases_them()
    {
        var client = factory.CreateBotClient();
        var consentId = await client.CreateConsentAsync();
        var image = Corpus.Read("jpg_Canon_40D.jpg");
        var first = await client.UploadOkAsync(consentId, image);
        var second = await client.UploadOkAsync(consentId, image);
        var anonymous = factory.CreateAnonymousClient();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(ApiClient.PathOf(first.Link.Url))).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/consents/{consentId}")).StatusCode);

        foreach (var uploaded in new[] { first, second })
        {
            await (await anonymous.GetAsync(ApiClient.PathOf(uploaded.Link.Url))).AssertProblemAsync(HttpStatusCode.Gone, "image-gone");
            var metadata = await client.GetFromJsonAsync<ImageBody>($"/v1/images/{uploaded.Id}");
            Assert.Equal("erased", metadata!.Status);
            Assert.Equal("consent-withdrawn", metadata.EraseReason);
            await (await client.PostAsync($"/v1/images/{uploaded.Id}/links", null)).AssertProblemAsync(HttpStatusCode.Gone, "image-gone");
        }

        await (await client.UploadAsync(consentId, image)).AssertProblemAsync(HttpStatusCode.Forbidden, "consent-withdrawn");
    }
}
