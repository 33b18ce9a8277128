using SecureImage.Core.Kakao;

namespace SecureImage.Storage;

/// <summary>The stable text each queue stores for a <see cref="KakaoCallbackState"/> (the same in every provider), and which closings are allowed.</summary>
internal static class KakaoCallbackStates
{
    public static string ToText(KakaoCallbackState state) => state switch
    {
        KakaoCallbackState.Held => "held",
        KakaoCallbackState.Pending => "pending",
        KakaoCallbackState.Sending => "sending",
        KakaoCallbackState.Sent => "sent",
        KakaoCallbackState.Failed => "failed",
        KakaoCallbackState.Answered => "answered",
        KakaoCallbackState.Expired => "expired",
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };

    public static KakaoCallbackState Parse(string text) => text switch
    {
        "held" => KakaoCallbackState.Held,
        "pending" => KakaoCallbackState.Pending,
        "sending" => KakaoCallbackState.Sending,
        "sent" => KakaoCallbackState.Sent,
        "failed" => KakaoCallbackState.Failed,
        "answered" => KakaoCallbackState.Answered,
        "expired" => KakaoCallbackState.Expired,
        _ => throw new InvalidDataException("Unknown Kakao callback state in the queue."),
    };

    /// <summary>The state a callback must be in to be closed as <paramref name="outcome"/>, and the outcome's text.</summary>
    public static (string From, string To) Completion(KakaoCallbackState outcome) => outcome switch
    {
        KakaoCallbackState.Answered => ("held", "answered"),
        KakaoCallbackState.Sent or KakaoCallbackState.Failed => ("sending", ToText(outcome)),
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), "A callback is closed as answered, sent or failed; expiry is the sweep's."),
    };
}
