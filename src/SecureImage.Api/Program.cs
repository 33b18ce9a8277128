using SecureImage.Api.Configuration;
using SecureImage.Api.Features.Consents;
using SecureImage.Api.Features.Downloads;
using SecureImage.Api.Features.Health;
using SecureImage.Api.Features.Images;
using SecureImage.Api.Features.Kakao;
using SecureImage.Api.Features.Links;
using SecureImage.Api.Features.Reports;
using SecureImage.Api.Features.Uploads;

var builder = WebApplication.CreateBuilder(args);
builder.AddSecureImage();

var app = builder.Build();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseAuthentication();
app.UseAuthorization();

app.MapOpenApi();
app.MapHealthEndpoints();
app.MapConsentsEndpoints();
app.MapUploadsEndpoints();
app.MapImagesEndpoints();
app.MapLinksEndpoints();
app.MapDownloadsEndpoints();
app.MapReportsEndpoints();
app.MapKakaoEndpoints();

app.Run();

/// <summary>The entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
