using SecureImage.Api.Features.Admin;

namespace SecureImage.Api.Tests.Admin;

public sealed class AuditCsvTests
{
    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\"")]
    [InlineData("+1", "'+1")]
    [InlineData("-1", "'-1")]
    [InlineData("@SUM(A1)", "'@SUM(A1)")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("line\nbreak", "\"line\nbreak\"")]
    [InlineData("", "")]
    public void A_csv_cell_is_quoted_when_needed_and_never_starts_a_formula(string value, string expected) =>
        Assert.Equal(expected, AuditCsv.Cell(value));
}
