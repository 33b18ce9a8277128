using SecureImage.Api.Features.Admin;
using SecureImage.Api.Features.Consents;
using SecureImage.Api.Features.Downloads;
using SecureImage.Api.Features.Health;
using SecureImage.Api.Features.Images;
using SecureImage.Api.Features.Kakao;
using SecureImage.Api.Features.Links;
using SecureImage.Api.Features.Reports;
using SecureImage.Api.Features.Uploads;
using SecureImage.Api.Jobs;
using SecureImage.Api.Security;

namespace SecureImage.Api.Configuration;

internal static class SecureImagePipeline
{
    /// <summary>The middleware, in order, and every feature's endpoints.</summary>
    public static WebApplication UseSecureImage(this WebApplication app)
    {
        app.UseTrustedForwardedHeaders();
        app.UseRequestActivity();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseAdminSecurityHeaders();
        app.UseAdminBodyLimit();
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
        app.MapJobsDashboardEndpoints();
        return app;
    }
}
