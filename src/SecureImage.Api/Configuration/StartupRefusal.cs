using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using SecureImage.Core.Blobs;
using SecureImage.Core.Catalog;
using SecureImage.Core.Crypto;

namespace SecureImage.Api.Configuration;

/// <summary>
/// What an operator sees when the service (or <c>rewrap-keys</c>) does not start: one line on standard
/// error that names the setting or the dependency (never a configured value), a documented exit code, and
/// no stack trace. README "Exit codes".
/// </summary>
internal sealed partial record StartupRefusal(string Line, int ExitCode)
{
    /// <summary>A setting is missing or invalid (sysexits EX_CONFIG): fix the configuration, then start again.</summary>
    public const int ConfigurationExitCode = 78;

    /// <summary>A dependency did not answer at start (sysexits EX_UNAVAILABLE): start again once it is back.</summary>
    public const int UnavailableExitCode = 69;

    private const string Refused = "SecureImage refused to start: ";
    private const string CouldNotStart = "SecureImage could not start: ";

    private const int Starting = 1, Started = 2;

    /// <summary>0 while preparing, then <see cref="Starting"/>, then <see cref="Started"/>: once started, a failure is no start-up refusal and is left to the runtime.</summary>
    private static int s_phase;

    /// <summary>Between a successful <see cref="PrepareAsync"/> and the host's ApplicationStarted.</summary>
    public static bool HostStarting => Volatile.Read(ref s_phase) == Starting;

    /// <summary>
    /// Before the host starts: options validated, hosted services built (keys, bots, admins, providers) and
    /// storage ready, so a failure surfaces here rather than as the host's "Hosting failed to start" log with
    /// its stack trace. The host then finds the storage initialised.
    /// </summary>
    public static async Task PrepareAsync(WebApplication app, CancellationToken cancellationToken)
    {
        app.Lifetime.ApplicationStarted.Register(() => Volatile.Write(ref s_phase, Started));
        ValidateOptions(app);
        _ = app.Services.GetServices<IHostedService>().ToList();
        await app.Services.GetRequiredService<StorageInitializer>().StartAsync(cancellationToken);

        // What can still fail is the host's own start (e.g. binding the listening address): reported by Program.
        Volatile.Write(ref s_phase, Starting);
    }

    /// <summary>Runs the options validation that <c>ValidateOnStart</c> would run when the host starts.</summary>
    public static void ValidateOptions(WebApplication app) => app.Services.GetService<IStartupValidator>()?.Validate();

    /// <summary>The refusal for a start-up failure this service knows, or null (a bug: the runtime reports it).</summary>
    public static StartupRefusal? From(Exception exception) => Volatile.Read(ref s_phase) == Started ? null : exception switch
    {
        OptionsValidationException options => Configuration(Describe(options)),
        AggregateException aggregate when aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(e => e is OptionsValidationException) =>
            Configuration(string.Join(" ", aggregate.InnerExceptions.Cast<OptionsValidationException>().Select(Describe))),
        KeyConfigurationException keys => Configuration(keys.Message),

        // The configuration binder's message quotes the value: only the key and the type are kept.
        InvalidOperationException binding when BindingFailure().Match(binding.Message) is { Success: true } failure =>
            Configuration($"{failure.Groups["key"].Value} is not a valid {failure.Groups["type"].Value.Replace("System.", "", StringComparison.Ordinal)}."),
        IOException { InnerException: AddressInUseException } =>
            Configuration("the address to listen on is already in use (--urls, ASPNETCORE_URLS or ASPNETCORE_HTTP_PORTS)."),

        // Kestrel parses the listening addresses only when it binds them; its message quotes the address.
        FormatException when exception.TargetSite?.DeclaringType == typeof(Microsoft.AspNetCore.Http.BindingAddress) =>
            Configuration("the address to listen on is not a valid URL (--urls, ASPNETCORE_URLS, ASPNETCORE_HTTP_PORTS or Kestrel:Endpoints), e.g. http://0.0.0.0:8080."),
        UnauthorizedAccessException or IOException =>
            Configuration($"a file or folder it needs could not be created or opened ({exception.GetType().Name}); check SecureImage:DataDirectory, SecureImage:Blobs:Path, SecureImage:Keys:File and the catalog's Data Source."),
        CatalogUnavailableException catalog =>
            Unavailable($"the catalog did not answer ({Cause(catalog.InnerException)}); start again once it is reachable (SecureImage:Catalog)."),
        BlobStoreUnavailableException blobs =>
            Unavailable($"the blob store did not answer ({blobs.ErrorCode ?? Cause(blobs.InnerException)}); start again once it is reachable (SecureImage:Blobs)."),
        KeyProviderUnavailableException keys =>
            Unavailable($"the key provider did not answer ({keys.ErrorCode ?? "none"}); start again once it is reachable (SecureImage:Keys:KeyVault)."),
        _ => null,
    };

    private static StartupRefusal Configuration(string reason) => new(Refused + OneLine(reason), ConfigurationExitCode);

    private static StartupRefusal Unavailable(string reason) => new(CouldNotStart + OneLine(reason), UnavailableExitCode);

    private static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>The exception's type and, for database errors, its code: never its message, which may hold a host name or a value.</summary>
    private static string Cause(Exception? inner) => inner switch
    {
        null => "no cause",
        Npgsql.PostgresException postgres => $"{inner.GetType().Name} {postgres.SqlState}",
        Microsoft.Data.Sqlite.SqliteException sqlite => $"{inner.GetType().Name} {sqlite.SqliteErrorCode}",
        _ => inner.GetType().Name,
    };

    /// <summary>
    /// Our own validators write "SecureImage:…" messages; data-annotation failures name a member of an
    /// options class, so they get the full key (from the class's <c>Section</c>) in front of their error.
    /// </summary>
    private static string Describe(OptionsValidationException exception) =>
        string.Join(" ", exception.Failures.Select(failure =>
        {
            var match = DataAnnotationFailure().Match(failure);
            if (!match.Success)
            {
                return failure;
            }

            var section = exception.OptionsType.GetField("Section", BindingFlags.Public | BindingFlags.Static)?.GetRawConstantValue() as string;
            var prefix = section is null ? SecureImageSections.Root : $"{SecureImageSections.Root}:{section}";
            return $"{prefix}:{match.Groups["members"].Value} is invalid: {match.Groups["error"].Value}";
        }));

    [GeneratedRegex(@"^Failed to convert configuration value .*at '(?<key>[^']+)' to type '(?<type>[^']+)'\.$", RegexOptions.Singleline)]
    private static partial Regex BindingFailure();

    [GeneratedRegex(@"^DataAnnotation validation failed for '[^']*' members: '(?<members>[^']*)' with the error: '(?<error>.*)'\.$", RegexOptions.Singleline)]
    private static partial Regex DataAnnotationFailure();
}
