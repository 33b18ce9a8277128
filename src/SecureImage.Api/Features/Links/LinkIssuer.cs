using Microsoft.Extensions.Options;
using SecureImage.Api.Configuration;
using SecureImage.Core;
using SecureImage.Core.Catalog;
using SecureImage.Core.Links;

namespace SecureImage.Api.Features.Links;

internal sealed record LinkResponse(string Url, DateTimeOffset ExpiresAt);

/// <summary>Issues signed download links: absolute, opaque to clients, never outliving the image.</summary>
internal sealed class LinkIssuer(LinkSigner signer, IOptions<LinksOptions> options, IImageCatalog catalog, TimeProvider timeProvider)
{
    public const string DownloadPathPrefix = "/v1/downloads/";

    /// <summary>A fresh link for an image that can still be served, or null when it has no whole second left.</summary>
    public async Task<LinkResponse?> IssueAsync(ImageRecord image, HttpRequest request, string actor, CancellationToken cancellationToken)
    {
        var now = timeProvider.UtcNowMilliseconds();
        var expiresAt = LinkPolicy.ExpiryFor(now, image.ExpiresAt, options.Value.Lifetime);
        if (expiresAt is null)
        {
            return null;
        }

        var signature = signer.Sign(image.Id, expiresAt.Value);
        var baseUrl = options.Value.PublicBaseUrl?.GetLeftPart(UriPartial.Path).TrimEnd('/')
            ?? $"{request.Scheme}://{request.Host.ToUriComponent()}{request.PathBase.ToUriComponent()}";
        await catalog.AppendAuditAsync(new AuditEvent(now, AuditKinds.LinkIssued, image.BotId, image.Id, image.ConsentId, actor, null), cancellationToken);
        return new LinkResponse($"{baseUrl}{DownloadPathPrefix}{image.Id:D}{signature.ToQueryString()}", signature.ExpiresAt);
    }
}
