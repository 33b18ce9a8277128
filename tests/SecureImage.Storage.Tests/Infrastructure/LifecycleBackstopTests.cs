using System.Text.RegularExpressions;

namespace SecureImage.Storage.Tests.Infrastructure;

/// <summary>The Azure lifecycle backstop must delete after 4 days, never before the 3-day retention job.</summary>
public sealed partial class LifecycleBackstopTests
{
    private static string Bicep() => BicepTemplate.Read("storage-lifecycle.bicep");

    [Fact]
    public void The_backstop_rule_deletes_base_blobs_after_four_days_by_default()
    {
        var bicep = Bicep();

        Assert.Matches(DefaultDays(), bicep);
        Assert.Contains("daysAfterCreationGreaterThan: deleteAfterDays", bicep, StringComparison.Ordinal);
        Assert.Contains("@minValue(4)", bicep, StringComparison.Ordinal);
        Assert.Contains("name: 'default'", bicep, StringComparison.Ordinal);
        Assert.Contains("'${containerName}/'", bicep, StringComparison.Ordinal);
    }

    [Fact]
    public void The_backstop_rule_is_the_only_action_and_never_tiers_or_keeps_copies()
    {
        var bicep = Bicep();

        Assert.DoesNotContain("tierToCool", bicep, StringComparison.Ordinal);
        Assert.DoesNotContain("tierToArchive", bicep, StringComparison.Ordinal);
        Assert.DoesNotContain("snapshot", bicep, StringComparison.OrdinalIgnoreCase);
    }

    [GeneratedRegex(@"param deleteAfterDays int = 4\b")]
    private static partial Regex DefaultDays();
}
