using Microsoft.Extensions.Options;
using SecureImage.Api.Configuration;
using SecureImage.Core;
using SecureImage.Core.Catalog;
using SecureImage.Core.Links;

namespace SecureImage.Api.Features.Links;

internal sealed record LinkResponse(string Url, DateTimeOffset ExpiresAt, string Variant);

/// <summary>The optional body of POST /v1/images/{id}/links.</summary>
internal sealed record LinkRequest(string? Variant);

/// <summary>Issues signed download links: absolute, opaque to clients, never outliving the image.</summary>
internal sealed class LinkIssuer(LinkSigner signer, IOptions<LinksOptions> options, IImageCatalog catalog, TimeProvider timeProvider)
{
    public const string DownloadPathPrefix = "/v1/downloads/";

    /// <summary>A fresh link for an image that can still be served, or null when it has no whole second left.</summary>
    public Task<LinkResponse?> IssueAsync(ImageRecord image, HttpRequest request, string actor, CancellationToken cancellationToken) =>
        IssueAsync(image, request, actor, LinkVariant.Original, cancellationToken);

    /// <summary>As above, for <paramref name="variant"/>, which the signature covers.</summary>
    public Task<LinkResponse?> IssueAsync(ImageRecord image, HttpRequest request, string actor, LinkVariant variant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var baseUrl = options.Value.PublicBaseUrl?.GetLeftPart(UriPartial.Path).TrimEnd('/')
            ?? $"{request.Scheme}://{request.Host.ToUriComponent()}{request.PathBase.ToUriComponent()}";
        return IssueAsync(image, baseUrl, actor, variant, cancellationToken);
    }

    /// <summary>A link with no request to take the host from: under Links:PublicBaseUrl, which must be set.</summary>
    public Task<LinkResponse?> IssueAsync(ImageRecord image, string actor, LinkVariant variant, CancellationToken cancellationToken) =>
        IssueAsync(
            image,
            options.Value.PublicBaseUrl?.GetLeftPart(UriPartial.Path).TrimEnd('/') ?? throw new InvalidOperationException("Links:PublicBaseUrl is not set."),
            actor,
            variant,
            cancellationToken);

    private async Task<LinkResponse?> IssueAsync(ImageRecord image, string baseUrl, string actor, LinkVariant variant, CancellationToken cancellationToken)
    {
        var now = timeProvider.UtcNowMilliseconds();
        var expiresAt = LinkPolicy.ExpiryFor(now, image.ExpiresAt, options.Value.Lifetime);
        if (expiresAt is null)
        {
            return null;
        }

        var signature = signer.Sign(image.Id, expiresAt.Value, variant);
        await catalog.AppendAuditAsync(new AuditEvent(now, AuditKinds.LinkIssued, image.BotId, image.Id, image.ConsentId, actor, variant == LinkVariant.Preview ? "preview" : null), cancellationToken);
        return new LinkResponse($"{baseUrl}{DownloadPathPrefix}{image.Id:D}{signature.ToQueryString()}", signature.ExpiresAt, variant.Name());
    }
}
