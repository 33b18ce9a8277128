namespace SecureImage.Core.Links;

/// <summary>When a new link expires: after its lifetime, never after the image itself, on a whole second.</summary>
public static class LinkPolicy
{
    /// <summary>The longest lifetime the service accepts in configuration.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromMinutes(10);

    /// <summary>The expiry of a link issued at <paramref name="now"/>, or null when the image has no whole second left.</summary>
    public static DateTimeOffset? ExpiryFor(DateTimeOffset now, DateTimeOffset imageExpiresAt, TimeSpan lifetime)
    {
        // A link for an image with less than a second left would live for a few milliseconds at best.
        if (imageExpiresAt - now < TimeSpan.FromSeconds(1))
        {
            return null;
        }

        var candidate = now + lifetime;
        if (candidate > imageExpiresAt)
        {
            candidate = imageExpiresAt;
        }

        // Round down: the link never outlives its lifetime or the image.
        var seconds = candidate.ToUnixTimeSeconds();
        var expiry = DateTimeOffset.FromUnixTimeSeconds(seconds);
        return expiry > now ? expiry : null;
    }
}
