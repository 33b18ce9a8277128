using System.Diagnostics;
using SecureImage.Core.Imaging;

namespace SecureImage.Core.Diagnostics;

/// <summary>
/// The service's spans (<see cref="ActivitySource"/> <c>SecureImage</c>). Attribute policy: opaque ids
/// (image, bot, fetch), sizes, formats and stable outcome/reason codes only — never subject ids, file
/// names, URLs, keys, exception messages or bodies.
/// </summary>
public static class Tracing
{
    public const string SourceName = "SecureImage";

    public static ActivitySource Source { get; } = new(SourceName);

    /// <summary>Attribute names; every value set under them is an id, a size, a format or a code.</summary>
    public static class Tags
    {
        public const string ImageId = "secureimage.image.id";
        public const string BotId = "secureimage.bot.id";
        public const string FetchId = "secureimage.kakao.fetch.id";
        public const string RequestId = "secureimage.kakao.request.id";
        public const string Attempt = "secureimage.kakao.fetch.attempt";
        public const string Format = "secureimage.image.format";
        public const string Bytes = "secureimage.image.bytes";
        public const string Outcome = "secureimage.outcome";
        public const string Reason = "secureimage.reason";
        public const string Erased = "secureimage.retention.erased";
        public const string Failed = "secureimage.retention.failed";
        public const string LagSeconds = "secureimage.retention.lag_seconds";
    }

    /// <summary>Marks <paramref name="activity"/> failed with a code (never a message, which may carry input).</summary>
    public static void Fail(this Activity? activity, string code)
    {
        activity?.SetTag(Tags.Outcome, "failed");
        activity?.SetTag(Tags.Reason, code);
        activity?.SetStatus(ActivityStatusCode.Error, code);
    }

    /// <summary>The format attribute of an image/* content type: jpeg, png, gif or webp.</summary>
    public static string FormatOf(string contentType)
    {
        ArgumentNullException.ThrowIfNull(contentType);
        return contentType.StartsWith("image/", StringComparison.Ordinal) ? contentType["image/".Length..] : "unknown";
    }

    /// <summary>A stable code for an exception: the sanitizer's rejection reason, or the type name; never the message.</summary>
    public static string CodeOf(Exception exception) => exception switch
    {
        null => throw new ArgumentNullException(nameof(exception)),
        ImageRejectedException rejected => rejected.Reason.ToString(),
        _ => exception.GetType().Name,
    };
}
