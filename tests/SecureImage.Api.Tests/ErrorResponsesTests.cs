using System.Net;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests;

/// <summary>Errors written by the framework's own components are the service's problem+json too, and echo nothing.</summary>
public sealed class ErrorResponsesTests(SecureImageFactory factory) : IClassFixture<SecureImageFactory>
{
    [Theory]
    [InlineData("/openapi/v2.json", "v2")]
    [InlineData("/openapi/V2.json", "v2")]
    [InlineData("/openapi/%3Cscript%3Ealert(1)%3C%2Fscript%3E.json", "script")]
    [InlineData("/openapi/v1x.json", "v1x")]
    [InlineData("/openapi/.json", "openapi")]
    public async Task An_unknown_openapi_document_answers_the_standard_404_problem_without_echoing_its_name(string path, string name)
    {
        var response = await factory.CreateAnonymousClient().GetAsync(path);

        await response.AssertProblemAsync(HttpStatusCode.NotFound, "not-found");
        Assert.DoesNotContain(name, await response.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("/openapi/v1.json")]
    [InlineData("/openapi/V1.json")]
    public async Task The_openapi_document_is_still_served(string path)
    {
        var response = await factory.CreateAnonymousClient().GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
    }
}
