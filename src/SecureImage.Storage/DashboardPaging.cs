using SecureImage.Core.Dashboard;

namespace SecureImage.Storage;

/// <summary>Both adapters read one row more than asked to know whether another page follows.</summary>
internal static class DashboardPaging
{
    public static AuditPage Page(List<AuditEntry> entries, int limit)
    {
        if (entries.Count <= limit)
        {
            return new AuditPage(entries, null);
        }

        entries.RemoveAt(entries.Count - 1);
        return new AuditPage(entries, entries[^1].Seq);
    }
}
