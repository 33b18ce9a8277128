using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using SecureImage.Api.Tests.Faults;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests.Deployment;

/// <summary>
/// <c>dotnet SecureImage.Api.dll healthcheck</c> as the container's HEALTHCHECK runs it (the Dockerfile's
/// own arguments, only the URL pointed at the instance under test), against a running service.
/// </summary>
public sealed class HealthCheckCommandTests : IAsyncLifetime
{
    private readonly ServiceProcess _service = new(SecureImageFactory.NewKeySettings());

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Fact]
    public async Task The_healthcheck_command_exits_0_when_the_running_service_is_ready_and_1_when_nothing_listens_or_it_is_not_ready()
    {
        await _service.StartAsync();

        var ready = await _service.RunCommandAsync(HealthcheckArguments(new Uri(_service.BaseAddress, "/health/ready")));
        var nothing = await _service.RunCommandAsync(HealthcheckArguments(new Uri($"http://127.0.0.1:{PublishedApp.FreePort()}/health/ready")));
        await using var unready = await LoopbackHttp.StartAsync(app => app.MapGet("/health/ready", () => Results.StatusCode(StatusCodes.Status503ServiceUnavailable)));
        var unhealthy = await _service.RunCommandAsync(HealthcheckArguments(new Uri(unready.BaseAddress, "/health/ready")));

        Assert.True(ready.ExitCode == 0, ready.Output);
        Assert.Contains("healthy: /health/ready answered 200", ready.Output, StringComparison.Ordinal);
        Assert.True(nothing.ExitCode == 1, nothing.Output);
        Assert.Contains("did not answer", nothing.Output, StringComparison.Ordinal);
        Assert.True(unhealthy.ExitCode == 1, unhealthy.Output);
        Assert.Contains("answered 503", unhealthy.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_healthcheck_command_refuses_arguments_it_does_not_know_without_contacting_anything()
    {
        var result = await _service.RunCommandAsync(["healthcheck", "--url", "file:///etc/passwd"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("usage: healthcheck", result.Output, StringComparison.Ordinal);
    }

    /// <summary>The HEALTHCHECK's command after <c>dotnet SecureImage.Api.dll</c>, with its URL replaced by <paramref name="url"/>.</summary>
    private static string[] HealthcheckArguments(Uri url)
    {
        var arguments = DockerfileTests.HealthcheckCommand().ToArray();
        Assert.Equal(["dotnet", "SecureImage.Api.dll", "healthcheck"], arguments[..3]);
        var at = Array.IndexOf(arguments, "--url");
        Assert.Equal("http://127.0.0.1:8080/health/ready", arguments[at + 1]);
        arguments[at + 1] = url.ToString();
        return arguments[2..];
    }
}
