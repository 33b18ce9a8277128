using System.Text.RegularExpressions;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests.Deployment;

/// <summary>What can be checked of the container image without a container engine.</summary>
public sealed partial class DockerfileTests
{
    private static string Dockerfile() => File.ReadAllText(PublishedApp.DockerfilePath);

    /// <summary>The Dockerfile with line continuations joined, one instruction per line.</summary>
    private static string Joined() => Dockerfile().Replace("\\\n", " ", StringComparison.Ordinal);

    [Fact]
    public void The_dockerfile_builds_on_the_sdk_image_and_runs_on_the_aspnet_image()
    {
        var froms = FromLine().Matches(Dockerfile()).Select(m => m.Groups["image"].Value).ToList();

        Assert.Equal(["mcr.microsoft.com/dotnet/sdk:10.0", "mcr.microsoft.com/dotnet/aspnet:10.0"], froms);
        Assert.Contains("COPY --from=build /app ./", Dockerfile(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_dockerfile_runs_as_the_non_root_app_user_on_port_8080()
    {
        var dockerfile = Dockerfile();

        Assert.Matches(UserLine(), dockerfile);
        Assert.DoesNotMatch(RootUserLine(), dockerfile);
        Assert.Contains("ASPNETCORE_URLS=http://+:8080", dockerfile, StringComparison.Ordinal);
        Assert.Contains("EXPOSE 8080", dockerfile, StringComparison.Ordinal);
    }

    [Fact]
    public void The_dockerfile_bakes_in_no_secret()
    {
        var dockerfile = Dockerfile();

        Assert.DoesNotMatch(SecretAssignment(), dockerfile);
        Assert.DoesNotContain("keys.json", dockerfile, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("**/keys.json", File.ReadAllText(PublishedApp.DockerfilePath + ".dockerignore"), StringComparison.Ordinal);
    }

    [Fact]
    public void The_dockerfile_publishes_the_api_in_release_into_app_as_the_published_app_test_does()
    {
        Assert.Equal(["publish", "src/SecureImage.Api", "-c", "Release", "-o", "/app"], PublishedApp.DockerfilePublishArguments());
    }

    [Fact]
    public void The_dockerfile_health_check_runs_the_service_s_own_healthcheck_command_against_readiness_on_port_8080()
    {
        var options = HealthcheckLine().Match(Joined()).Groups["options"].Value;

        Assert.Equal(["dotnet", "SecureImage.Api.dll", "healthcheck", "--url", "http://127.0.0.1:8080/health/ready", "--timeout-seconds", "3"], HealthcheckCommand());
        Assert.Matches(@"--interval=\d+s", options);
        Assert.Matches(@"--timeout=\d+s", options);
        Assert.Matches(@"--retries=\d+", options);
    }

    /// <summary>The exec-form command of the Dockerfile's HEALTHCHECK.</summary>
    public static IReadOnlyList<string> HealthcheckCommand()
    {
        var match = HealthcheckLine().Match(Joined());
        Assert.True(match.Success, "infra/docker/Dockerfile has no exec-form `HEALTHCHECK … CMD [\"…\"]` instruction.");
        return System.Text.Json.JsonSerializer.Deserialize<string[]>(match.Groups["command"].Value)!;
    }

    [Fact]
    public void The_compose_file_configures_the_service_through_secure_image_variables_and_a_mounted_key_file()
    {
        var compose = File.ReadAllText(Path.Combine(Corpus.RepositoryRoot, "infra", "docker", "compose.yaml"));

        Assert.Contains("image: postgres:15", compose, StringComparison.Ordinal);
        Assert.Contains("mcr.microsoft.com/azure-storage/azurite", compose, StringComparison.Ordinal);
        Assert.Contains("SecureImage__Catalog__Provider: Postgres", compose, StringComparison.Ordinal);
        Assert.Contains("SecureImage__Blobs__Provider: AzureBlob", compose, StringComparison.Ordinal);
        Assert.Contains("SecureImage__Keys__File: /run/secrets/secureimage/keys.json", compose, StringComparison.Ordinal);
        Assert.Contains("./secrets:/run/secrets/secureimage:ro", compose, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^HEALTHCHECK (?<options>[^\n]*?)\s*CMD (?<command>\[[^\n]*\])\s*$", RegexOptions.Multiline)]
    private static partial Regex HealthcheckLine();

    [GeneratedRegex(@"^FROM (?<image>\S+)", RegexOptions.Multiline)]
    private static partial Regex FromLine();

    [GeneratedRegex(@"^USER \$APP_UID\s*$", RegexOptions.Multiline)]
    private static partial Regex UserLine();

    [GeneratedRegex(@"^USER (root|0)\b", RegexOptions.Multiline)]
    private static partial Regex RootUserLine();

    // ENV/ARG lines (and their continuations) that assign anything named like a key, password or secret.
    [GeneratedRegex(@"^(ENV|ARG)\b[^\n]*(\\\n[^\n]*)*(Key|Password|Secret|Pwd|Token)[A-Za-z_]*\s*=", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex SecretAssignment();
}
