using System.Net;
using Microsoft.Data.Sqlite;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests;

/// <summary>
/// Crypto-shredding on the embedded default, through the API: once a delete or a consent withdrawal has
/// answered, no file of the data directory holds the erased images' wrapped keys.
/// </summary>
public sealed class CryptoShreddingTests
{
    [Fact]
    public async Task After_a_delete_and_a_consent_withdrawal_no_file_of_the_data_directory_holds_an_erased_image_s_wrapped_key()
    {
        using var factory = new SecureImageFactory();
        var client = factory.CreateBotClient();
        var kept = await client.CreateConsentAsync("shred-kept");
        var withdrawn = await client.CreateConsentAsync("shred-withdrawn");
        var keptImages = new[] { await client.UploadOkAsync(kept, Corpus.Read("jpg_Canon_40D.jpg")), await client.UploadOkAsync(kept, Corpus.Read("png_text_gps_xmp.png")) };
        var withdrawnImages = new[] { await client.UploadOkAsync(withdrawn, Corpus.Read("jpg_Nikon_D70.jpg")), await client.UploadOkAsync(withdrawn, Corpus.Read("jpg_Canon_40D.jpg")) };
        var keys = await WrappedKeysAsync(factory.DataDirectory);

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/images/{keptImages[0].Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/consents/{withdrawn}")).StatusCode);

        foreach (var erased in new[] { keptImages[0].Id, withdrawnImages[0].Id, withdrawnImages[1].Id })
        {
            Assert.Empty(FilesHolding.Bytes(factory.DataDirectory, keys[erased]));
        }

        Assert.NotEmpty(FilesHolding.Bytes(factory.DataDirectory, keys[keptImages[1].Id]));
    }

    [Fact]
    public async Task The_data_directory_the_service_creates_is_0700_and_its_keys_catalog_and_blobs_are_0600()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        using var parent = new SecureImageFactory();
        var dataDirectory = Path.Combine(parent.DataDirectory, "created-by-the-service");
        using var factory = new SecureImageFactory("Development", withKeys: false, withBots: false, settings: new Dictionary<string, string?> { ["SecureImage:DataDirectory"] = dataDirectory });
        var client = factory.CreateBotClient("dev-bot-key");
        await client.UploadOkAsync(await client.CreateConsentAsync(), Corpus.Read("jpg_Canon_40D.jpg"));

        var owner = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        Assert.Equal(owner | UnixFileMode.UserExecute, File.GetUnixFileMode(dataDirectory));
        Assert.Equal(owner | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(dataDirectory, "blobs")));
        var files = Directory.EnumerateFiles(dataDirectory, "*", SearchOption.AllDirectories).ToList();
        Assert.Contains(files, f => f.EndsWith("catalog.db-wal", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith("keys.json", StringComparison.Ordinal));
        foreach (var file in files)
        {
            var mode = File.GetUnixFileMode(file);
            Assert.True(mode == owner, $"{Path.GetRelativePath(dataDirectory, file)} is {mode}");
        }
    }

    /// <summary>Every image's wrapped key, read from the catalog file while the images are live.</summary>
    private static async Task<Dictionary<Guid, byte[]>> WrappedKeysAsync(string dataDirectory)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(dataDirectory, "catalog.db")};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, wrapped_key FROM images;";
        var keys = new Dictionary<Guid, byte[]>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            keys[Guid.Parse(reader.GetString(0))] = (byte[])reader.GetValue(1);
        }

        return keys;
    }
}
