using System.Net;
using System.Net.Http.Json;
using SecureImage.Api.Tests.TestSupport;
using Xunit.Abstractions;

namespace SecureImage.Api.Tests.EndToEnd;

/// <summary>
/// The whole HTTP contract with the service configured as in production: the catalog in PostgreSQL,
/// the blobs in Azure Blob Storage (Azurite), each test on a database and container of its own.
/// </summary>
public sealed class PostgresAzuriteEndToEndTests(ITestOutputHelper output) : IAsyncLifetime
{
    private ProductionBackend? _backend;

    private ProductionBackend Backend => _backend ?? throw new InvalidOperationException("InitializeAsync has not run.");

    public async Task InitializeAsync() => _backend = await ProductionBackend.CreateAsync();

    public async Task DisposeAsync()
    {
        if (_backend is not null)
        {
            await _backend.DisposeAsync();
        }
    }

    [Fact]
    public async Task Text_fields_with_control_characters_answer_400_before_they_reach_PostgreSQL()
    {
        // PostgreSQL text cannot hold U+0000: stored as it came, such a value failed in the database and answered 503.
        var service = Backend.NewInstance(AdminSession.OfficerSettings());
        var client = service.CreateBotClient();
        foreach (var body in new object[]
        {
            new { subjectId = "u", purpose = "id\u0000check", policyVersion = "v1" },
            new { subjectId = "u", purpose = "id-check", policyVersion = "v\u00001" },
            new { subjectId = "u", purpose = "id\ncheck", policyVersion = "v1" },
        })
        {
            await (await client.PostAsJsonAsync("/v1/consents", body)).AssertProblemAsync(HttpStatusCode.BadRequest, "bad-request");
        }

        var uploaded = await client.UploadOkAsync(await client.CreateConsentAsync(), Corpus.Read("jpg_Canon_40D.jpg"));
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync($"/v1/images/{uploaded.Id}/reports", null)).StatusCode);
        var admin = await service.SignInAsync();
        var release = new HttpRequestMessage(HttpMethod.Post, $"/admin/api/holds/{uploaded.Id}/release") { Content = JsonContent.Create(new { reason = "checked\u0000" }) };
        release.Headers.Add("X-CSRF-Token", await admin.CsrfTokenAsync());
        await (await admin.SendAsync(release)).AssertProblemAsync(HttpStatusCode.BadRequest, "bad-request");
        await (await admin.GetAsync("/admin/api/audit?kind=%00")).AssertProblemAsync(HttpStatusCode.BadRequest, "bad-request");
        Assert.Empty(service.Logs.AtLeast(Microsoft.Extensions.Logging.LogLevel.Warning));
    }

    [Fact]
    public async Task Consent_upload_metadata_links_download_and_delete_work_end_to_end()
    {
        var service = Backend.NewInstance();
        var client = service.CreateBotClient();
        var anonymous = service.CreateAnonymousClient();
        var original = Corpus.Read("jpg_gps_DSCN0010.jpg");
        var consentId = await client.CreateConsentAsync();

        var uploaded = await client.UploadOkAsync(consentId, original);

        var sanitized = await Corpus.SanitizedAsync(original);
        Assert.Equal(sanitized.Length, uploaded.Bytes);
        var metadata = (await client.GetFromJsonAsync<ImageBody>($"/v1/images/{uploaded.Id}"))!;
        Assert.Equal((consentId, "image/jpeg", "active", uploaded.ExpiresAt), (metadata.ConsentId, metadata.ContentType, metadata.Status, metadata.ExpiresAt));
        var download = await anonymous.GetAsync(ApiClient.PathOf(uploaded.Link.Url));
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal(sanitized, await download.Content.ReadAsByteArrayAsync());

        var fresh = await client.PostAsync($"/v1/images/{uploaded.Id}/links", null);
        Assert.Equal(HttpStatusCode.Created, fresh.StatusCode);
        var freshLink = (await fresh.Content.ReadFromJsonAsync<LinkBody>())!;
        Assert.Equal(sanitized, await anonymous.GetByteArrayAsync(ApiClient.PathOf(freshLink.Url)));

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/images/{uploaded.Id}")).StatusCode);

        await (await anonymous.GetAsync(ApiClient.PathOf(uploaded.Link.Url))).AssertProblemAsync(HttpStatusCode.Gone, "image-gone");
        await (await anonymous.GetAsync(ApiClient.PathOf(freshLink.Url))).AssertProblemAsync(HttpStatusCode.Gone, "image-gone");
        await (await client.PostAsync($"/v1/images/{uploaded.Id}/links", null)).AssertProblemAsync(HttpStatusCode.Gone, "image-gone");
        var erased = (await client.GetFromJsonAsync<ImageBody>($"/v1/images/{uploaded.Id}"))!;
        Assert.Equal(("erased", "deleted-by-bot"), (erased.Status, erased.EraseReason));
        Assert.Equal(0, await Backend.CountAsync($"FROM images WHERE id = '{uploaded.Id}' AND wrapped_key IS NOT NULL"));
    }

    [Fact]
    public async Task Withdrawing_the_consent_makes_its_images_gone_and_erases_their_blobs()
    {
        var service = Backend.NewInstance();
        var client = service.CreateBotClient();
        var consentId = await client.CreateConsentAsync();
        var uploaded = await client.UploadOkAsync(consentId, Corpus.Read("png_text_gps_xmp.png"));
        var blobName = await Backend.BlobNameOfAsync(uploaded.Id);

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/consents/{consentId}")).StatusCode);

        await (await service.CreateAnonymousClient().GetAsync(ApiClient.PathOf(uploaded.Link.Url))).AssertProblemAsync(HttpStatusCode.Gone, "image-gone");
        await (await client.UploadAsync(consentId, Corpus.Read("jpg_Canon_40D.jpg"))).AssertProblemAsync(HttpStatusCode.Forbidden, "consent-withdrawn");
        Assert.DoesNotContain(blobName, await OfficialBlobClient.ListBlobNamesAsync(Backend.AzuriteConnectionString, Backend.Container));
    }

    [Fact]
    public async Task Another_bot_sees_404_for_an_image_it_does_not_own()
    {
        var service = Backend.NewInstance();
        var owner = service.CreateBotClient();
        var uploaded = await owner.UploadOkAsync(await owner.CreateConsentAsync(), Corpus.Read("jpg_Canon_40D.jpg"));
        var other = service.CreateBotClient(SecureImageFactory.BotBKey);

        await (await other.GetAsync($"/v1/images/{uploaded.Id}")).AssertProblemAsync(HttpStatusCode.NotFound, "not-found");
        await (await other.PostAsync($"/v1/images/{uploaded.Id}/links", null)).AssertProblemAsync(HttpStatusCode.NotFound, "not-found");
        await (await other.DeleteAsync($"/v1/images/{uploaded.Id}")).AssertProblemAsync(HttpStatusCode.NotFound, "not-found");
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync($"/v1/images/{uploaded.Id}")).StatusCode);
    }

    [Fact]
    public async Task Two_instances_share_the_catalog_and_the_blobs()
    {
        var first = Backend.NewInstance();
        var second = Backend.NewInstance();
        var original = Corpus.Read("webp_gps_xmp.webp");
        var uploaded = await first.CreateBotClient().UploadOkAsync(await first.CreateBotClient().CreateConsentAsync(), original);
        var sanitized = await Corpus.SanitizedAsync(original);

        // A link from one instance works on the other, and so does a link the other issues.
        Assert.Equal(sanitized, await second.CreateAnonymousClient().GetByteArrayAsync(ApiClient.PathOf(uploaded.Link.Url)));
        var secondLink = (await (await second.CreateBotClient().PostAsync($"/v1/images/{uploaded.Id}/links", null)).Content.ReadFromJsonAsync<LinkBody>())!;
        Assert.Equal(sanitized, await first.CreateAnonymousClient().GetByteArrayAsync(ApiClient.PathOf(secondLink.Url)));

        Assert.Equal(HttpStatusCode.NoContent, (await second.CreateBotClient().DeleteAsync($"/v1/images/{uploaded.Id}")).StatusCode);

        await (await first.CreateAnonymousClient().GetAsync(ApiClient.PathOf(uploaded.Link.Url))).AssertProblemAsync(HttpStatusCode.Gone, "image-gone");
        Assert.Equal("erased", (await first.CreateBotClient().GetFromJsonAsync<ImageBody>($"/v1/images/{uploaded.Id}"))!.Status);
    }

    [Fact]
    public async Task A_report_and_a_delete_sent_together_to_two_instances_leave_either_an_erased_image_or_a_held_one_with_its_blob()
    {
        const int rounds = 200;
        var settings = new Dictionary<string, string?> { ["SecureImage:Retention:SweepInterval"] = "01:00:00" };

        var race = await ReportEraseRace.RunAsync(Backend.NewInstance(settings), Backend.NewInstance(settings), EraseRequest.Delete, rounds);

        race.AssertNoRoundBrokeTheRule(output);
    }

    [Fact]
    public async Task The_official_azure_client_finds_the_uploaded_blob_as_a_ciphertext_envelope_and_then_finds_it_gone()
    {
        var client = Backend.NewInstance().CreateBotClient();
        var uploaded = await client.UploadOkAsync(await client.CreateConsentAsync(), Corpus.Read("jpg_Canon_40D.jpg"));
        var blobName = await Backend.BlobNameOfAsync(uploaded.Id);

        Assert.Equal([blobName], await OfficialBlobClient.ListBlobNamesAsync(Backend.AzuriteConnectionString, Backend.Container));

        // What it downloads is an envelope ("SIEV", version 1), longer than the image it seals
        // (header, per-segment tags), not the JPEG (which would start FF D8 FF).
        var blob = Assert.Single(await OfficialBlobClient.ListBlobHeadsAsync(Backend.AzuriteConnectionString, Backend.Container));
        Assert.Equal((blobName, "5349455601"), (blob.Name, blob.Head));
        Assert.True(blob.Length > uploaded.Bytes, $"the blob has {blob.Length} bytes for an image of {uploaded.Bytes}");

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/images/{uploaded.Id}")).StatusCode);

        Assert.Empty(await OfficialBlobClient.ListBlobNamesAsync(Backend.AzuriteConnectionString, Backend.Container));
    }
}
