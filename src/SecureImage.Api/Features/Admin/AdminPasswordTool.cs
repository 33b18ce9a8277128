using SecureImage.Api.Security;

namespace SecureImage.Api.Features.Admin;

/// <summary>
/// <c>dotnet SecureImage.Api.dll hash-password</c> (or <c>dotnet run --project src/SecureImage.Api --no-launch-profile -- hash-password</c>):
/// reads a password from standard input (one line) and prints only its <see cref="AdminPasswordHash"/> on
/// standard output, for <c>SecureImage:Admins:{user}:PasswordHash</c>. Prompts and errors go to standard
/// error, so <c>$(…)</c> captures the hash alone.
/// </summary>
internal static class AdminPasswordTool
{
    public const string Name = "hash-password";

    /// <summary>Wrong use: an argument (a password on the command line ends up in shell history) or no password.</summary>
    public const int UsageExitCode = 2;

    public static int Run(IReadOnlyList<string> arguments, TextReader input, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        if (arguments.Count > 0)
        {
            error.WriteLine($"{Name} takes no arguments: pipe the password in on standard input, e.g. printf '%s\\n' 'the password' | dotnet SecureImage.Api.dll {Name}");
            return UsageExitCode;
        }

        if (!Console.IsInputRedirected)
        {
            error.Write("Password (input is not hidden; prefer piping it in): ");
        }

        var password = input.ReadLine();
        if (string.IsNullOrEmpty(password))
        {
            error.WriteLine($"{Name}: no password read from standard input.");
            return UsageExitCode;
        }

        output.WriteLine(AdminPasswordHash.Create(password));
        return 0;
    }
}
