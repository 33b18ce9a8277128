using SecureImage.Core.Kakao;

namespace SecureImage.Api.Features.Kakao;

/// <summary>Kakao logs: opaque ids and stable codes only, never user keys, URLs, tokens or bodies.</summary>
internal static partial class KakaoLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Kakao skill request by bot {BotId}: {Outcome}.")]
    public static partial void SkillAnswered(ILogger logger, string botId, string outcome);

    [LoggerMessage(Message = "Kakao skill payload not usable: {Problem}.")]
    public static partial void PayloadProblem(ILogger logger, LogLevel level, KakaoPayloadProblem problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kakao skill request body could not be read (status {Status}); answered 'invalid'.")]
    public static partial void BodyUnreadable(ILogger logger, int status);

    [LoggerMessage(Level = LogLevel.Error, Message = "Kakao skill request failed ({ExceptionType}); answered with a friendly SkillResponse.")]
    public static partial void SkillFailed(ILogger logger, string exceptionType, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Kakao fetch {FetchId} stored image {ImageId} (attempt {Attempt}).")]
    public static partial void FetchStored(ILogger logger, Guid fetchId, Guid imageId, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kakao fetch {FetchId} given up: {Reason} (attempt {Attempt}).")]
    public static partial void FetchGivenUp(ILogger logger, Guid fetchId, string reason, int attempt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Kakao fetch {FetchId} failed with {Reason} (attempt {Attempt}); retrying after {Delay}.")]
    public static partial void FetchRetrying(ILogger logger, Guid fetchId, string reason, int attempt, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kakao fetch queue unavailable ({ExceptionType}); trying again at the next poll.")]
    public static partial void QueueUnavailable(ILogger logger, string exceptionType);

    [LoggerMessage(Level = LogLevel.Error, Message = "Kakao fetch {FetchId} failed unexpectedly ({ExceptionType}); its lease will expire and it will be retried.")]
    public static partial void FetchCrashed(ILogger logger, Guid fetchId, string exceptionType, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Kakao callback for request {RequestId} answered {Status} ({KakaoStatus}).")]
    public static partial void CallbackSent(ILogger logger, Guid requestId, int status, string kakaoStatus);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} Kakao callbacks expired before they could be sent; their URLs and tokens are forgotten.")]
    public static partial void CallbacksExpired(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kakao callback for request {RequestId} could not be armed ({ExceptionType}); answered 'received' instead.")]
    public static partial void CallbackNotArmed(ILogger logger, Guid requestId, string exceptionType);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kakao callback for request {RequestId} could not be sent ({ExceptionType}).")]
    public static partial void CallbackFailed(ILogger logger, Guid requestId, string exceptionType);
}
