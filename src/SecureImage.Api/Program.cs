using SecureImage.Api.Configuration;
using SecureImage.Api.Features.Admin;
using SecureImage.Api.Features.Health;

if (args is [AdminPasswordTool.Name, .. var hashPasswordArguments])
{
    return AdminPasswordTool.Run(hashPasswordArguments, Console.In, Console.Out, Console.Error);
}

if (args is [HealthCheckCommand.Name, .. var healthCheckArguments])
{
    // The container's HEALTHCHECK: no host, no configuration, one request to the running instance.
    return await HealthCheckCommand.RunAsync(healthCheckArguments, Console.Out, Console.Error, CancellationToken.None);
}

try
{
    var builder = SecureImageHost.CreateBuilder(args);
    builder.AddSecureImage();

    await using var app = builder.Build();
    if (args.Contains(RewrapKeysCommand.JobName))
    {
        // `dotnet SecureImage.Api.dll rewrap-keys`: re-wrap every live data key under the current KEK version, then
        // exit (disposing the host flushes the log line with the counts).
        StartupRefusal.ValidateOptions(app);
        return await RewrapKeysCommand.RunAsync(app);
    }

    app.UseSecureImage();

    await StartupRefusal.PrepareAsync(app, app.Lifetime.ApplicationStopping);
    await app.RunAsync();
    return 0;
}
catch (Exception ex) when (StartupRefusal.From(ex) is { } refusal)
{
    // One line naming the setting or dependency, no stack trace; the exit code says which (README "Exit codes").
    Console.Error.WriteLine(refusal.Line);
    return refusal.ExitCode;
}

/// <summary>The entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
