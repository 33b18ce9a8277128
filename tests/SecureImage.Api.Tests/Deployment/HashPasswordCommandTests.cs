using System.Diagnostics;
using System.Text.RegularExpressions;
using SecureImage.Api.Security;
using SecureImage.Api.Tests.Faults;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests.Deployment;

/// <summary>
/// <c>hash-password</c> as an operator scripts it: standard output is the hash and nothing else, so
/// <c>$(…)</c> captures exactly what goes into <c>SecureImage:Admins:{user}:PasswordHash</c>.
/// </summary>
public sealed partial class HashPasswordCommandTests
{
    private const string Password = "correct horse battery staple";

    [Fact]
    public async Task The_readme_command_prints_only_the_hash_on_standard_output()
    {
        // The README's own line, run on the build under test (-c … --no-build added after `run`).
        var match = ReadmeCommand().Match(await File.ReadAllTextAsync(Path.Combine(Corpus.RepositoryRoot, "README.md")));
        Assert.True(match.Success, "README.md has no `printf … | dotnet run … hash-password` line.");
        var arguments = match.Groups["args"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
        Assert.Equal("run", arguments[0]);
        arguments.InsertRange(1, ["-c", RepositoryRootRun.Configuration, "--no-build"]);

        var run = await RunAsync("dotnet", arguments, $"{match.Groups["password"].Value}\n");

        Assert.Equal(0, run.ExitCode);
        Assert.True(AdminPasswordHash.Verify(match.Groups["password"].Value, run.Stdout.TrimEnd('\n')), $"Standard output is not just the hash:\n{run.Stdout}");
    }

    [Fact]
    public async Task Hash_password_prints_only_the_hash_on_standard_output()
    {
        var run = await RunAsync("dotnet", [ServiceProcess.ApiDll, "hash-password"], $"{Password}\n");

        Assert.Equal(0, run.ExitCode);
        Assert.Matches(@"^pbkdf2-sha256\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+\n$", run.Stdout);
        Assert.True(AdminPasswordHash.Verify(Password, run.Stdout.TrimEnd('\n')));
        Assert.Equal("", run.Stderr);
    }

    [Fact]
    public async Task Hash_password_refuses_a_password_given_as_an_argument_with_one_line_and_exit_code_2()
    {
        var run = await RunAsync("dotnet", [ServiceProcess.ApiDll, "hash-password", "argument-password-q7"], $"{Password}\n");

        Assert.Equal(2, run.ExitCode);
        Assert.Equal("", run.Stdout);
        Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("takes no arguments", run.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("argument-password-q7", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hash_password_without_a_password_on_standard_input_exits_2_with_one_line()
    {
        var run = await RunAsync("dotnet", [ServiceProcess.ApiDll, "hash-password"], "");

        Assert.Equal(2, run.ExitCode);
        Assert.Equal("", run.Stdout);
        Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string fileName, IEnumerable<string> arguments, string input)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = Corpus.RepositoryRoot,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(input);
        process.StandardInput.Close();
        await process.WaitForExitAsync(TestTimeout.After(TimeSpan.FromMinutes(2)));
        return (process.ExitCode, await stdout, await stderr);
    }

    [GeneratedRegex(@"^printf '%s\\n' '(?<password>[^']+)' \| dotnet (?<args>run [^\r\n|#]*hash-password)\s*$", RegexOptions.Multiline)]
    private static partial Regex ReadmeCommand();
}
