using SecureImage.Core.Catalog;

namespace SecureImage.Storage;

/// <summary>The stable text each catalog stores for an <see cref="ImageState"/> (the same in every provider).</summary>
internal static class ImageStates
{
    public static string ToText(ImageState state) => state switch
    {
        ImageState.Active => "active",
        ImageState.Erased => "erased",
        ImageState.Held => "held",
        ImageState.Blocked => "blocked",
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };

    public static ImageState Parse(string text) => text switch
    {
        "active" => ImageState.Active,
        "erased" => ImageState.Erased,
        "held" => ImageState.Held,
        "blocked" => ImageState.Blocked,
        _ => throw new InvalidDataException("Unknown image state in the catalog."),
    };

    public static PreviewState ParsePreview(string text) => text switch
    {
        "ready" => PreviewState.Ready,
        "unavailable" => PreviewState.Unavailable,
        _ => throw new InvalidDataException("Unknown preview state in the catalog."),
    };

    /// <summary>
    /// What an erase request decides from the state its locking UPDATE … RETURNING saw: a held row keeps
    /// its blob until release, any other may be erased now.
    /// </summary>
    public static EraseDecision EraseDecisionFor(string state, ImageToErase image) =>
        Parse(state) == ImageState.Held ? new EraseDecision(EraseOutcome.DeferredByHold, null) : new EraseDecision(EraseOutcome.EraseNow, image);

    /// <summary>An erase request whose UPDATE touched no row: the image is erased (rows never change after that) or unknown.</summary>
    public static EraseDecision NothingToErase(bool rowExists) => new(rowExists ? EraseOutcome.AlreadyErased : EraseOutcome.NotFound, null);
}
