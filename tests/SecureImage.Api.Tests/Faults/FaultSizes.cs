namespace SecureImage.Api.Tests.Faults;

/// <summary>
/// Sizes of the fault scenarios: small in the test command, larger through infra/local/faults.sh,
/// which sets these variables (bounded: a value outside the range fails the test).
/// </summary>
internal static class FaultSizes
{
    /// <summary>Concurrent uploads in flight when the service is killed (200 in faults.sh).</summary>
    public static int ConcurrentUploads => Read("SECUREIMAGE_FAULTS_UPLOADS", 40, 1, 1_000);

    /// <summary>Expired images the killed retention sweep works on (5,000 in faults.sh).</summary>
    public static int ExpiredImages => Read("SECUREIMAGE_FAULTS_EXPIRED", 2_000, 10, 50_000);

    private static int Read(string variable, int fallback, int min, int max)
    {
        var text = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }

        Assert.True(int.TryParse(text, out var value) && value >= min && value <= max, $"{variable}={text} is not a number in {min}..{max}");
        return value;
    }
}
