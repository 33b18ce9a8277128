using System.Net;
using System.Net.Http.Json;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests;

public sealed class LinksAndDownloadsTests : IDisposable
{
    private readonly SecureImageFactory _factory = new();

    public void Dispose() => _factory.Dispose();

    [Fact]
    public async Task A_link_serves_the_sanitized_image_with_no_store_and_nosniff()
    {
        var client = _factory.CreateBotClient();
        var consentId = await client.CreateConsentAsync();
        var original = Corpus.Read("jpg_gps_DSCN0010.jpg");
        var uploaded = await client.UploadOkAsync(consentId, original);

        var response = await _factory.CreateAnonymousClient().GetAsync(ApiClient.PathOf(uploaded.Link.Url));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/jpeg", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal(await Corpus.SanitizedAsync(original), await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_fresh_link_works_and_lives_ten_minutes()
    {
        var client = _factory.CreateBotClient();
        var consentId = await client.CreateConsentAsync();
        var uploaded = await client.UploadOkAsync(consentId, Corpus.Read("jpg_Canon_40D.jpg"));
        _factory.Time.Advance(TimeSpan.FromHours(1));

        var response = await client.PostAsync($"/v1/images/{uploaded.Id}/links", null);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var link = (await response.Content.ReadFromJsonAsync<LinkBody>())!;
        Assert.Equal(_factory.Time.GetUtcNow().AddMinutes(10), link.ExpiresAt);
        Assert.NotEqual(uploaded.Link.Url, link.Url);
        Assert.Equal(HttpStatusCode.OK, (await _factory.CreateAnonymousClient().GetAsync(ApiClient.PathOf(link.Url))).StatusCode);
    }

    [Fact]
    public async Task A_link_works_until_its_second_and_not_at_it()
    {
        var client = _factory.CreateBotClient();
        var consentId = await client.CreateConsentAsync();
        var uploaded = await client.UploadOkAsync(consentId, Corpus.Read("jpg_Canon_40D.jpg"));
        var anonymous = _factory.CreateAnonymousClient();

        _factory.Time.Set(uploaded.Link.ExpiresAt.AddMilliseconds(-1));
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(ApiClient.PathOf(uploaded.Link.Url))).StatusCode);

        _factory.Time.Set(uploaded.Link.ExpiresAt);
        await (await anonymous.GetAsync(ApiClient.PathOf(uploaded.Link.Url))).AssertProblemAsync(HttpStatusCode.Forbidden, "link-invalid");
    }

    [Fact]
    public async Task Expired_and_forged_links_get_the_same_403_body()
    {
        var client = _factory.CreateBotClient();
        var consentId = await client.CreateConsentAsync();
        var uploaded = await client.UploadOkAsync(consentId, Corpus.Read("jpg_Canon_40D.jpg"));
        var anonymous = _factory.CreateAnonymousClient();
        var path = ApiClient.PathOf(uploaded.Link.Url);
        var forged = path.Replace("sig=", "sig=x", StringComparison.Ordinal);

        var forgedResponse = await anonymous.GetAsync(forged);
        _factory.Time.Advance(TimeSpan.FromMinutes(11));
        var expiredResponse = await anonymous.GetAsync(path);

        Assert.Equal(HttpStatusCode.Forbidden, forgedResponse.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, expiredResponse.StatusCode);
        Assert.Equal(await forgedResponse.ReadProblemAsync() with { }, await expiredResponse.ReadProblemAsync());
    }

    [Theory]
    [InlineData("exp")]
    [InlineData("kid")]
    [InlineData("sig")]
    [InlineData("id")]
    public async Task A_link_with_a_changed_part_answers_403(string part)
    {
        var client = _factory.CreateBotClient();
        var consentId = await client.CreateConsentAsync();
        var uploaded = await client.UploadOkAsync(consentId, Corpus.Read("jpg_Canon_40D.jpg"));
        var other = await client.UploadOkAsync(consentId, Corpus.Read("jpg_Canon_40D.jpg"));
        var uri = new Uri(uploaded.Link.Url);
        var query = System.Web.HttpUtility.ParseQueryString(uri.Query);
        var id = uploaded.Id;
        switch (part)
        {
            case "exp": query["exp"] = (long.Parse(query["exp"]!, System.Globalization.CultureInfo.InvariantCulture) + 60).ToString(System.Globalization.CultureInfo.InvariantCulture); break;
            case "kid": query["kid"] = "another-key"; break;
            case "sig": query["sig"] = query["sig"]![..^1]; break;
            case "id": id = other.Id; break;
        }

        var response = await _factory.CreateAnonymousClient().GetAsync($"/v1/downloads/{id}?{query}");

        await response.AssertProblemAsync(HttpStatusCode.Forbidden, "link-invalid");
    }

    [Fact]
    public async Task An_image_is_served_just_before_its_expiry_and_answers_410_just_after_without_any_sweep()
    {
        var client = _factory.CreateBotClient();
        var consentId = await client.CreateConsentAsync();
        var uploaded = await client.UploadOkAsync(consentId, Corpus.Read("jpg_Canon_40D.jpg"));
        var anonymous = _factory.CreateAnonymousClient();

        _factory.Time.Set(uploaded.ExpiresAt.AddMinutes(-5));
        var link = (await (await client.PostAsync($"/v1/images/{uploaded.Id}/links", null)).Content.ReadFromJsonAsync<LinkBody>())!;
        Assert.Equal(uploaded.ExpiresAt, link.ExpiresAt);

        _factory.Time.Set(uploaded.ExpiresAt.AddMilliseconds(-1));
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(ApiClient.PathOf(link.Url))).StatusCode);

        _factory.Time.Set(uploaded.ExpiresAt);
        var response = await anonymous.GetAsync(ApiClient.PathOf(link.Url));
        Assert.True(response.StatusCode is HttpStatusCode.Gone or HttpStatusCode.Forbidden);
        await (await client.PostAsync($"/v1/images/{uploaded.Id}/links", null)).AssertProblemAsync(HttpStatusCode.Gone, "image-gone");
        Assert.Equal("expired", (await client.GetFromJsonAsync<ImageBody>($"/v1/images/{uploaded.Id}"))!.Status);
    }

    [Fact]
    public async Task A_link_issued_before_the_image_expired_answers_410_once_the_image_has_expired()
    {
        var client = _factory.CreateBotClient();
        var consentId = await client.CreateConsentAsync();
        var uploaded = await client.UploadOkAsync(consentId, Corpus.Read("jpg_Canon_40D.jpg"));
        _factory.Time.Set(uploaded.ExpiresAt.AddSeconds(-30));
        var link = (await (await client.PostAsync($"/v1/images/{uploaded.Id}/links", null)).Content.ReadFromJsonAsync<LinkBody>())!;

        // Shorten the image's life below the link's: a withdrawal does exactly that.
        await client.DeleteAsync($"/v1/consents/{consentId}");

        await (await _factory.CreateAnonymousClient().GetAsync(ApiClient.PathOf(link.Url))).AssertProblemAsync(HttpStatusCode.Gone, "image-gone");
    }

    [Fact]
    public async Task A_download_path_that_is_not_an_image_id_answers_404()
    {
        var response = await _factory.CreateAnonymousClient().GetAsync("/v1/downloads/not-a-guid?exp=1&kid=a&sig=b");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
