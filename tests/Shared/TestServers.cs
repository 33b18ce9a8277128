namespace SecureImage.Tests.Shared;

/// <summary>
/// Addresses of the real servers that infra/local/with-servers.sh starts. A missing address is a
/// test failure with a message saying what to do, never a silent skip.
/// </summary>
internal static class TestServers
{
    public const string PostgresVariable = "SECUREIMAGE_TEST_POSTGRES";
    public const string AzuriteVariable = "SECUREIMAGE_TEST_AZURITE";
    public const string AzuriteOAuthUriVariable = "SECUREIMAGE_TEST_AZURITE_OAUTH_URI";
    public const string AzuriteOAuthCertificateVariable = "SECUREIMAGE_TEST_AZURITE_OAUTH_CERT";

    public static string PostgresConnectionString => Require(PostgresVariable);

    /// <summary>Shared Key connection string of the plain (http) Azurite.</summary>
    public static string AzuriteConnectionString => Require(AzuriteVariable);

    /// <summary>https blob service URI of the Azurite started with --oauth basic.</summary>
    public static Uri AzuriteOAuthServiceUri => new(Require(AzuriteOAuthUriVariable));

    /// <summary>PEM certificate the OAuth Azurite serves.</summary>
    public static string AzuriteOAuthCertificatePath => Require(AzuriteOAuthCertificateVariable);

    public static string Require(string variable)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrWhiteSpace(value))
        {
            return value;
        }

        var onCi = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
        Assert.Fail(onCi
            ? $"CI=true and {variable} is not set: this test needs a real server, and the CI test command must start it " +
              "(wrap the test command in infra/local/with-servers.sh)."
            : $"{variable} is not set: this test needs a real server. Run the tests through " +
              "infra/local/with-servers.sh, e.g. `bash infra/local/with-servers.sh dotnet test tests/SecureImage.Storage.Tests`.");
        return value!;
    }
}
