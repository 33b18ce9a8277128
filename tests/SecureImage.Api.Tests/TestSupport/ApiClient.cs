using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace SecureImage.Api.Tests.TestSupport;

public sealed record Problem(int Status, string Type, string? Title, string? Detail);

public sealed record LinkBody(string Url, DateTimeOffset ExpiresAt);

public sealed record UploadBody(Guid Id, string ContentType, long Bytes, int Width, int Height, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, LinkBody Link);

public sealed record ImageBody(Guid Id, Guid ConsentId, string ContentType, long Bytes, int Width, int Height, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, string Status, DateTimeOffset? ErasedAt, string? EraseReason);

public static class ApiClient
{
    public const string ProblemPrefix = "urn:secureimage:problem:";

    public static async Task<Guid> CreateConsentAsync(this HttpClient client, string subjectId = "user-1")
    {
        var response = await client.PostAsJsonAsync("/v1/consents", new { subjectId, purpose = "id-check", policyVersion = "2026-01" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return body.GetProperty("id").GetGuid();
    }

    public static Task<HttpResponseMessage> UploadAsync(this HttpClient client, Guid? consentId, byte[] image, string fileName = "photo.jpg", string declaredType = "image/jpeg", bool fileFirst = false)
    {
        var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(image);
        file.Headers.ContentType = new MediaTypeHeaderValue(declaredType);
        if (fileFirst)
        {
            form.Add(file, "file", fileName);
        }

        if (consentId is not null)
        {
            form.Add(new StringContent(consentId.Value.ToString()), "consentId");
        }

        if (!fileFirst)
        {
            form.Add(file, "file", fileName);
        }

        return client.PostAsync("/v1/images", form);
    }

    public static async Task<UploadBody> UploadOkAsync(this HttpClient client, Guid consentId, byte[] image)
    {
        var response = await client.UploadAsync(consentId, image);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"upload answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<UploadBody>())!;
    }

    public static async Task<Problem> ReadProblemAsync(this HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        await response.Content.LoadIntoBufferAsync();
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return new Problem(
            body.GetProperty("status").GetInt32(),
            body.GetProperty("type").GetString()!,
            body.TryGetProperty("title", out var title) ? title.GetString() : null,
            body.TryGetProperty("detail", out var detail) ? detail.GetString() : null);
    }

    public static async Task<Problem> AssertProblemAsync(this HttpResponseMessage response, HttpStatusCode status, string typeSuffix)
    {
        Assert.Equal(status, response.StatusCode);
        var problem = await response.ReadProblemAsync();
        Assert.Equal(ProblemPrefix + typeSuffix, problem.Type);
        Assert.Equal((int)status, problem.Status);
        Assert.False(string.IsNullOrWhiteSpace(problem.Detail));
        return problem;
    }

    /// <summary>The path and query of an absolute link, for the in-memory test client.</summary>
    public static string PathOf(string url) => new Uri(url).PathAndQuery;
}
