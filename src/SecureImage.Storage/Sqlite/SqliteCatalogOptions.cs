namespace SecureImage.Storage.Sqlite;

public sealed class SqliteCatalogOptions
{
    /// <summary>A Microsoft.Data.Sqlite connection string, e.g. <c>Data Source=./data/catalog.db</c>.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>
    /// How long an erasure waits for readers to leave the write-ahead log so that its checkpoint can remove
    /// the old wrapped keys; past it the erasure fails (503) and the checkpoint is retried later.
    /// </summary>
    public TimeSpan CheckpointBusyWait { get; set; } = TimeSpan.FromSeconds(5);
}
