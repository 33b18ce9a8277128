using SecureImage.Api.Security;

namespace SecureImage.Api.Features.Admin;

/// <summary>
/// <c>dotnet run --project src/SecureImage.Api -- hash-password</c>: reads a password from standard input
/// (one line) and prints its <see cref="AdminPasswordHash"/> for <c>SecureImage:Admins:{user}:PasswordHash</c>.
/// </summary>
internal static class AdminPasswordTool
{
    public static int Run(TextReader input, TextWriter output, TextWriter error)
    {
        if (!Console.IsInputRedirected)
        {
            error.Write("Password (input is not hidden; prefer piping it in): ");
        }

        var password = input.ReadLine();
        if (string.IsNullOrEmpty(password))
        {
            error.WriteLine("No password read from standard input.");
            return 2;
        }

        output.WriteLine(AdminPasswordHash.Create(password));
        return 0;
    }
}
