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
}
