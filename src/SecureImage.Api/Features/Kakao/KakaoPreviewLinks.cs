using Microsoft.Extensions.Options;
using SecureImage.Api.Configuration;
using SecureImage.Api.Features.Links;
using SecureImage.Core.Catalog;
using SecureImage.Core.Kakao;
using SecureImage.Core.Links;

namespace SecureImage.Api.Features.Kakao;

/// <summary>
/// Preview links for a Kakao answer (Kakao:PreviewLinks), one per stored image in position order. The preview
/// itself may not exist yet: its link makes it on first use. Null when the option is off.
/// </summary>
internal sealed class KakaoPreviewLinks(IOptions<KakaoOptions> options, IImageCatalog catalog, LinkIssuer links)
{
    public const string Actor = "kakao-skill";

    public async Task<IReadOnlyList<string>?> ForAsync(IReadOnlyList<KakaoImageOutcome> outcomes, CancellationToken cancellationToken)
    {
        if (!options.Value.PreviewLinks)
        {
            return null;
        }

        var urls = new List<string>();
        foreach (var outcome in outcomes.Where(o => o.ImageId is not null).OrderBy(o => o.Position))
        {
            // An image erased or expiring within the second has no link; its place stays, empty, so positions match imageIds.
            var image = await catalog.FindImageAsync(outcome.ImageId!.Value, cancellationToken);
            var link = image is null ? null : await links.IssueAsync(image, Actor, LinkVariant.Preview, cancellationToken);
            urls.Add(link?.Url ?? "");
        }

        return urls;
    }
}

internal sealed class ValidateKakaoPreviewLinks(IOptions<LinksOptions> links) : IValidateOptions<KakaoOptions>
{
    public ValidateOptionsResult Validate(string? name, KakaoOptions options) =>
        options.PreviewLinks && links.Value.PublicBaseUrl is null
            ? ValidateOptionsResult.Fail("SecureImage:Kakao:PreviewLinks needs SecureImage:Links:PublicBaseUrl: answers sent to a callback URL have no request to take the host from.")
            : ValidateOptionsResult.Success;
}
