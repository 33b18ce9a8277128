using System.Net;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using SecureImage.Api.Tests.Faults;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests.Deployment;

/// <summary>
/// <c>dotnet SecureImage.Api.dll rewrap-keys</c> as an operator runs it after rotating the key-encryption
/// key: the built service binary, the service's own configuration with the new key active, against a
/// catalog whose data keys the old key wrapped. Afterwards the old key can go and every image still opens.
/// </summary>
public sealed class RewrapKeysCommandTests : IAsyncLifetime
{
    private const string SubjectId = "rewrap-subject-3390";
    private static readonly string OldKek = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private static readonly string NewKek = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    // Link and subject-hash keys stay; the KEK ring is given per run.
    private readonly ServiceProcess _service = new(new Dictionary<string, string?>(SecureImageFactory.NewKeySettings())
    {
        ["SecureImage:Keys:Kek:ActiveKeyId"] = null,
        ["SecureImage:Keys:Kek:Keys:kek1"] = null,
    });

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Fact]
    public async Task Rewrap_keys_moves_every_live_data_key_to_the_new_kek_prints_only_counts_and_the_old_kek_can_then_be_removed()
    {
        await _service.StartAsync(Ring(active: "kek-old", ("kek-old", OldKek)));
        using var client = _service.CreateClient();
        var consentId = await client.CreateConsentAsync(SubjectId);
        var names = new[] { "jpg_Canon_40D.jpg", "png_text_gps_xmp.png", "jpg_Nikon_D70.jpg" };
        var uploaded = new List<(UploadBody Body, byte[] Sanitized)>();
        foreach (var name in names)
        {
            uploaded.Add((await client.UploadOkAsync(consentId, Corpus.Read(name)), await Corpus.SanitizedAsync(Corpus.Read(name))));
        }

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/images/{uploaded[2].Body.Id}")).StatusCode);
        _service.Kill();
        Assert.Equal(["kek-old", "kek-old"], await LiveKeyIdsAsync());

        // Rotation: the new key is active, the old one still on the ring to unwrap.
        var rotated = Ring(active: "kek-new", ("kek-old", OldKek), ("kek-new", NewKek));
        var first = await _service.RunCommandAsync(["rewrap-keys"], rotated);
        var second = await _service.RunCommandAsync(["rewrap-keys"], rotated);

        Assert.True(first.ExitCode == 0, first.Output);
        Assert.Contains("rewrap-keys: 2 live data keys examined, 2 re-wrapped, 0 failed.", first.Output, StringComparison.Ordinal);
        Assert.True(second.ExitCode == 0, second.Output);
        Assert.Contains("rewrap-keys: 2 live data keys examined, 0 re-wrapped, 0 failed.", second.Output, StringComparison.Ordinal);
        foreach (var secret in new[] { OldKek, NewKek, SubjectId, uploaded[0].Body.Id.ToString() })
        {
            Assert.DoesNotContain(secret, first.Output + second.Output, StringComparison.Ordinal);
        }

        Assert.Equal(["kek-new", "kek-new"], await LiveKeyIdsAsync());

        // The old key is gone from the ring: every live image still opens through its link, with the same bytes.
        await _service.StartAsync(Ring(active: "kek-new", ("kek-new", NewKek)));
        using var anonymous = _service.CreateClient(apiKey: null);
        foreach (var (body, sanitized) in uploaded.Take(2))
        {
            var download = await anonymous.GetAsync(new Uri(body.Link.Url).PathAndQuery);
            Assert.Equal(HttpStatusCode.OK, download.StatusCode);
            Assert.Equal(sanitized, await download.Content.ReadAsByteArrayAsync());
        }
    }

    [Fact]
    public async Task Rewrap_keys_without_a_kek_refuses_with_one_line_naming_the_setting_and_exit_code_78()
    {
        var run = await _service.RunCommandAsync(["rewrap-keys"]);

        SecureImageFactory.AssertOneLineRefusal(run.ExitCode, run.Error, run.Output);
        Assert.Contains("SecureImage:Keys:Kek", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rewrap_keys_with_an_invalid_setting_refuses_like_the_service_does()
    {
        var run = await _service.RunCommandAsync(["rewrap-keys"], new Dictionary<string, string>(Ring(active: "kek-old", ("kek-old", OldKek)))
        {
            ["SecureImage:Links:Lifetime"] = "00:30:00",
        });

        SecureImageFactory.AssertOneLineRefusal(run.ExitCode, run.Error, run.Output);
        Assert.Contains("SecureImage:Links:Lifetime must be at most 00:10:00.", run.Error, StringComparison.Ordinal);
    }

    private static Dictionary<string, string> Ring(string active, params (string Id, string Key)[] keys) =>
        keys.ToDictionary(k => $"SecureImage:Keys:Kek:Keys:{k.Id}", k => k.Key)
            .Append(new KeyValuePair<string, string>("SecureImage:Keys:Kek:ActiveKeyId", active))
            .ToDictionary();

    /// <summary>The key ids of the images that still hold a wrapped key, read from the SQLite catalog file.</summary>
    private async Task<string[]> LiveKeyIdsAsync()
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(_service.DataDirectory, "catalog.db")};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT key_id FROM images WHERE wrapped_key IS NOT NULL ORDER BY key_id;";
        var ids = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }

        return [.. ids];
    }
}
