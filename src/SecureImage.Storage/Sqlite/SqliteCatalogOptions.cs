namespace SecureImage.Storage.Sqlite;

public sealed class SqliteCatalogOptions
{
    /// <summary>A Microsoft.Data.Sqlite connection string, e.g. <c>Data Source=./data/catalog.db</c>.</summary>
    public string ConnectionString { get; set; } = "";
}
