using SecureImage.Api.Configuration;
using SecureImage.Api.Features.Admin;
using SecureImage.Api.Features.Consents;
using SecureImage.Api.Features.Downloads;
using SecureImage.Api.Features.Health;
using SecureImage.Api.Features.Images;
using SecureImage.Api.Features.Kakao;
using SecureImage.Api.Features.Links;
using SecureImage.Api.Features.Reports;
using SecureImage.Api.Features.Uploads;
using SecureImage.Api.Security;

if (args is ["hash-password", ..])
{
    return AdminPasswordTool.Run(Console.In, Console.Out, Console.Error);
}

if (args is [HealthCheckCommand.Name, .. var healthCheckArguments])
{
    // The container's HEALTHCHECK: no host, no configuration, one request to the running instance.
    return await HealthCheckCommand.RunAsync(healthCheckArguments, Console.Out, Console.Error, CancellationToken.None);
}

var builder = WebApplication.CreateBuilder(args);
builder.AddSecureImage();

await using var app = builder.Build();
if (args.Contains(RewrapKeysCommand.JobName))
{
    // `dotnet SecureImage.Api.dll rewrap-keys`: re-wrap every live data key under the current KEK version, then
    // exit (disposing the host flushes the log line with the counts).
    return await RewrapKeysCommand.RunAsync(app);
}

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseAdminSecurityHeaders();
app.UseAuthentication();
app.UseAuthorization();
app.UseAntiforgery();

// Only the one document: any other name falls through to the standard 404 problem (the OpenAPI endpoint's own
// answer is text/plain and repeats the requested name).
app.MapOpenApi("/openapi/{documentName:regex(^v1$)}.json");
app.MapHealthEndpoints();
app.MapConsentsEndpoints();
app.MapUploadsEndpoints();
app.MapImagesEndpoints();
app.MapLinksEndpoints();
app.MapDownloadsEndpoints();
app.MapReportsEndpoints();
app.MapKakaoEndpoints();
app.MapAdminPageEndpoints();
app.MapAdminApiEndpoints();

await app.RunAsync();
return 0;

/// <summary>The entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
