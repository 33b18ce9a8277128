namespace SecureImage.Storage.Postgres;

public sealed class PostgresCatalogOptions
{
    /// <summary>An Npgsql connection string, e.g. <c>Host=db;Database=secureimage;Username=app;Password=…</c>.</summary>
    public string ConnectionString { get; set; } = "";
}
