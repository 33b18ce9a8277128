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

var builder = WebApplication.CreateBuilder(args);
builder.AddSecureImage();

var app = builder.Build();
if (args.Contains("rewrap-keys"))
{
    // `dotnet SecureImage.Api.dll rewrap-keys`: re-wrap every live data key under the current KEK version, then exit.
    return await RewrapKeysCommand.RunAsync(app);
}

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseAdminSecurityHeaders();
app.UseAuthentication();
app.UseAuthorization();
app.UseAntiforgery();

app.MapOpenApi();
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
