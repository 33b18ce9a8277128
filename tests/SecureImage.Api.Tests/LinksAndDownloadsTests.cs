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
    public async Task Hundreds_of_forged_and_malformed_links_all_answer_the_one_403_link_invalid_and_log_no_error()
    {
        var client = _factory.CreateBotClient();
        var consentId = await client.CreateConsentAsync();
        var uploaded = await client.UploadOkAsync(consentId, Corpus.Read("jpg_Canon_40D.jpg"));
        var anonymous = _factory.CreateAnonymousClient();
        var query = System.Web.HttpUtility.ParseQueryString(new Uri(uploaded.Link.Url).Query);
        var (exp, kid, sig) = (query["exp"]!, query["kid"]!, query["sig"]!);
        var path = $"/v1/downloads/{uploaded.Id}";

        // Query strings as a client could send them: values escaped, and raw ones the server has to decode itself.
        var random = new Random(1305);
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        var printable = new string([.. Enumerable.Range(0x21, 0x7E - 0x20).Select(c => (char)c)]);
        var forged = new List<string>();
        string Escaped(string e, string k, string s) => $"?exp={Uri.EscapeDataString(e)}&kid={Uri.EscapeDataString(k)}&sig={Uri.EscapeDataString(s)}";
        string RandomText(string chars, int length) => new([.. Enumerable.Range(0, length).Select(_ => chars[random.Next(chars.Length)])]);
        for (var i = 0; i < 100; i++)
        {
            forged.Add(Escaped(exp, kid, RandomText(printable, 43)));
            forged.Add(Escaped(exp, kid, RandomText(alphabet, 43)));
        }

        for (var position = 0; position < sig.Length; position++)
        {
            var changed = sig.ToCharArray();
            changed[position] = printable.Where(c => c != sig[position]).ElementAt(random.Next(printable.Length - 1));
            forged.Add(Escaped(exp, kid, new string(changed)));
        }

        var last = alphabet.IndexOf(sig[^1], StringComparison.Ordinal);
        forged.AddRange(Enumerable.Range(1, 3).Select(padding => Escaped(exp, kid, sig[..^1] + alphabet[last | padding])));
        forged.AddRange(new[] { "", sig[..^1], sig + "A", sig + "=", " " + sig, sig.Replace('-', '+').Replace('_', '/'), new string('/', 43) }.Where(s => s != sig).Select(s => Escaped(exp, kid, s)));
        forged.AddRange(new[]
        {
            $"?exp={exp}&kid={kid}&sig={sig[..10]}%2B{sig[13..]}", $"?exp={exp}&kid={kid}&sig={sig[..10]}+{sig[11..]}",
            $"?exp={exp}&kid={kid}&sig={sig[..42]}%3D", $"?exp={exp}&kid={kid}&sig={sig[..42]}.", $"?exp={exp}&kid={kid}&sig={sig[..20]}%ZZ{sig[23..]}",
            $"?exp={exp}&kid={kid}&sig={sig}&sig={sig}", $"?exp={exp}&kid={kid}", $"?exp={exp}&kid={kid}&sig=", $"?exp={exp}&sig={sig}", $"?kid={kid}&sig={sig}", "",
            $"?exp={exp}&kid={kid}&sig=%00{sig[1..]}", $"?exp={exp}&kid={kid}&sig={sig[..42]}%C5%81",
        });
        foreach (var badExp in new[] { "0" + exp, "+" + exp, "-" + exp, " " + exp, exp + " ", "99999999999999999999999", "9223372036854775807", "-1", "0", exp + ".0", "1e10", "\u0661" })
        {
            forged.Add(Escaped(badExp, kid, sig));
        }

        foreach (var badKid in new[] { "", new string('k', 4000), "%6Bink1", "l\u0131nk1", "\ud83d\ude00", kid.ToUpperInvariant(), kid + "\0", "link2" })
        {
            forged.Add(Escaped(exp, badKid, sig));
        }

        _factory.Time.Advance(TimeSpan.FromMinutes(11));
        var expected = await ProblemBodyAsync(await anonymous.GetAsync(path + $"?exp={exp}&kid={kid}&sig={sig}"));
        _factory.Time.Advance(TimeSpan.FromMinutes(-11));
        var different = new List<string>();
        foreach (var forgedQuery in forged)
        {
            var response = await anonymous.GetAsync(path + forgedQuery);
            var body = response.StatusCode == HttpStatusCode.Forbidden ? await ProblemBodyAsync(response) : $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            if (body != expected)
            {
                different.Add($"{forgedQuery} -> {body}");
            }
        }

        Assert.True(different.Count == 0, $"{different.Count} of {forged.Count} forged links got another answer, e.g.:\n{string.Join("\n", different.Take(5))}");
        Assert.Empty(_factory.Logs.AtLeast(Microsoft.Extensions.Logging.LogLevel.Error));
        Assert.Empty(_factory.Logs.Containing(sig[..20]));
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(path + $"?exp={exp}&kid={kid}&sig={sig}")).StatusCode);
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

    /// <summary>A 403 problem's body as canonical text, without the per-request trace id.</summary>
    private static async Task<string> ProblemBodyAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        body.Remove("traceId");
        return body.ToJsonString();
    }
}
