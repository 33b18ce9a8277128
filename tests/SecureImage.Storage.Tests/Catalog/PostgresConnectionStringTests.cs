using Npgsql;
using SecureImage.Storage.Postgres;

namespace SecureImage.Storage.Tests.Catalog;

/// <summary>What the PostgreSQL catalog adds to the operator's connection string, and what it leaves to the operator.</summary>
public sealed class PostgresConnectionStringTests
{
    [Fact]
    public void A_connection_string_that_says_nothing_gets_automatic_preparation_and_the_application_name()
    {
        var effective = new NpgsqlConnectionStringBuilder(PostgresImageCatalog.EffectiveConnectionString("Host=db;Database=secureimage;Username=app"));

        Assert.Equal(PostgresImageCatalog.DefaultMaxAutoPrepare, effective.MaxAutoPrepare);
        Assert.Equal("SecureImage", effective.ApplicationName);
        Assert.Equal(("db", "secureimage"), (effective.Host, effective.Database));
    }

    [Theory]
    [InlineData("Host=db;Max Auto Prepare=0", 0)]
    [InlineData("Host=db;maxautoprepare=0", 0)]
    [InlineData("Host=db;Max Auto Prepare=5;Application Name=ours", 5)]
    public void An_operator_who_sets_max_auto_prepare_keeps_it_even_at_zero(string connectionString, int expected)
    {
        var effective = new NpgsqlConnectionStringBuilder(PostgresImageCatalog.EffectiveConnectionString(connectionString));

        Assert.Equal(expected, effective.MaxAutoPrepare);
        Assert.NotEqual(string.Empty, effective.ApplicationName);
    }
}
