namespace SecureImage.Core.Diagnostics;

/// <summary>
/// What a log keeps of an unexpected exception: the type and the stack trace of it and of each inner
/// exception, never a message. Messages quote their input (a charset, a JSON fragment, a host name,
/// a file path), and an unexpected exception's input may be a client's.
/// </summary>
public sealed class RedactedException : Exception
{
    private readonly string? _stackTrace;

    private RedactedException(string typeName, string? stackTrace, RedactedException? inner)
        : base(typeName, inner)
    {
        _stackTrace = stackTrace;
    }

    /// <summary>The type name of the original exception (the only "message" this one has).</summary>
    public string OriginalType => Message;

    public override string? StackTrace => _stackTrace;

    public static RedactedException From(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var inner = exception switch
        {
            AggregateException { InnerExceptions.Count: > 0 } aggregate => aggregate.InnerExceptions[0],
            _ => exception.InnerException,
        };
        return new RedactedException(exception.GetType().FullName ?? exception.GetType().Name, exception.StackTrace, inner is null ? null : From(inner));
    }
}
