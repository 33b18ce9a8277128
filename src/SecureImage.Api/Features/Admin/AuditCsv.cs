using System.Globalization;
using System.Text;

namespace SecureImage.Api.Features.Admin;

/// <summary>
/// RFC 4180 CSV for the audit export. Cells that a spreadsheet would read as a formula (starting with
/// = + - @, tab or carriage return) get a leading apostrophe; cells with a comma, quote or line break are quoted.
/// </summary>
internal static class AuditCsv
{
    public const string Header = "seq,at,kind,bot,image_id,consent_id,actor,reason\r\n";

    public static string Row(AuditEventBody e) => string.Join(',',
        Cell(e.Seq.ToString(CultureInfo.InvariantCulture)),
        Cell(e.At.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture)),
        Cell(e.Kind),
        Cell(e.BotId),
        Cell(e.ImageId?.ToString()),
        Cell(e.ConsentId?.ToString()),
        Cell(e.Actor),
        Cell(e.Reason)) + "\r\n";

    public static string Cell(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }

        if (value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }

        if (value.AsSpan().IndexOfAny(",\"\r\n") < 0)
        {
            return value;
        }

        var quoted = new StringBuilder(value.Length + 2).Append('"');
        quoted.Append(value.Replace("\"", "\"\"", StringComparison.Ordinal));
        return quoted.Append('"').ToString();
    }
}
