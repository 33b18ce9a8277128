using System.Security.Cryptography;
using SecureImage.Core.Catalog;
using SecureImage.Core.Crypto;

namespace SecureImage.Storage.Tests.KeyVault;

/// <summary>
/// What the re-wrap path needs from every catalog adapter (<see cref="IWrappedKeyStore"/>): live wrapped
/// keys listed in id order page by page, erased images left out, a replacement that only lands while the
/// row still holds the expected key, and a full re-wrap under a new Key Vault key version.
/// </summary>
public abstract class WrappedKeyStoreContractTests
{
    private static CancellationToken Timeout => TestTimeout.OneMinute;

    /// <summary>A fresh, empty, migrated catalog owned by the current test.</summary>
    protected abstract Task<IImageCatalog> CreateMigratedCatalogAsync();

    [Fact]
    public async Task Live_wrapped_keys_are_listed_in_id_order_page_by_page_without_erased_images()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var images = await SeedAsync(catalog, 7, (id, _) => Task.FromResult(new WrappedKey("kek1", RandomNumberGenerator.GetBytes(61))));
        var erased = images.Keys.First();
        Assert.True(await catalog.MarkErasedAsync(erased, "deleted-by-bot", "bot:bot-a", DateTimeOffset.UtcNow, Timeout));

        var listed = new List<StoredWrappedKey>();
        Guid? after = null;
        var pages = 0;
        while (true)
        {
            var page = await Store(catalog).ListWrappedKeysAsync(after, limit: 2, Timeout);
            pages++;
            listed.AddRange(page);
            if (page.Count < 2)
            {
                break;
            }

            after = page[^1].ImageId;
        }

        Assert.Equal(4, pages);
        Assert.Equal(images.Keys.Where(id => id != erased).Select(id => id.ToString()).Order(StringComparer.Ordinal), listed.Select(k => k.ImageId.ToString()));
        Assert.All(listed, k => Assert.Equal(images[k.ImageId].Ciphertext, k.WrappedKey.Ciphertext));
    }

    [Fact]
    public async Task A_preview_key_is_listed_under_its_preview_id_and_replaced_there_without_touching_the_original()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var images = await SeedAsync(catalog, 1, (id, _) => Task.FromResult(new WrappedKey("kek1", RandomNumberGenerator.GetBytes(61))));
        var imageId = images.Keys.Single();
        var previewKey = new WrappedKey("kek1", RandomNumberGenerator.GetBytes(61));
        var preview = new ImagePreview(Guid.NewGuid(), "image/jpeg", 10, 4, 3, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), previewKey);
        Assert.True(await catalog.RecordPreviewAsync(imageId, preview, Timeout));

        var listed = await Store(catalog).ListWrappedKeysAsync(null, limit: 10, Timeout);
        var replacement = new WrappedKey("kek2", RandomNumberGenerator.GetBytes(61));

        Assert.Equal(new[] { imageId, preview.Id }.Select(id => id.ToString()).Order(StringComparer.Ordinal), listed.Select(k => k.ImageId.ToString()));
        Assert.Equal(previewKey.Ciphertext, listed.Single(k => k.ImageId == preview.Id).WrappedKey.Ciphertext);
        Assert.True(await Store(catalog).ReplaceWrappedKeyAsync(preview.Id, "kek1", replacement, Timeout));
        var row = (await catalog.FindImageAsync(imageId, Timeout))!;
        Assert.Equal(replacement.KeyId, row.Preview!.WrappedKey!.KeyId);
        Assert.Equal(replacement.Ciphertext, row.Preview.WrappedKey.Ciphertext);
        Assert.Equal(images[imageId].Ciphertext, row.WrappedKey!.Ciphertext);

        Assert.True(await catalog.MarkErasedAsync(imageId, "deleted-by-bot", "bot:bot-a", DateTimeOffset.UtcNow, Timeout));
        Assert.Empty(await Store(catalog).ListWrappedKeysAsync(null, limit: 10, Timeout));
        Assert.False(await Store(catalog).ReplaceWrappedKeyAsync(preview.Id, "kek2", previewKey, Timeout));
    }

    [Fact]
    public async Task A_replacement_lands_only_while_the_row_still_holds_the_expected_key_and_never_on_an_erased_image()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var images = await SeedAsync(catalog, 2, (id, _) => Task.FromResult(new WrappedKey("kek1", RandomNumberGenerator.GetBytes(61))));
        var (live, erased) = (images.Keys.First(), images.Keys.Last());
        var replacement = new WrappedKey("kek2", RandomNumberGenerator.GetBytes(61));
        Assert.True(await catalog.MarkErasedAsync(erased, "deleted-by-bot", "bot:bot-a", DateTimeOffset.UtcNow, Timeout));

        Assert.True(await Store(catalog).ReplaceWrappedKeyAsync(live, "kek1", replacement, Timeout));
        Assert.False(await Store(catalog).ReplaceWrappedKeyAsync(live, "kek1", new WrappedKey("kek3", RandomNumberGenerator.GetBytes(61)), Timeout));
        Assert.False(await Store(catalog).ReplaceWrappedKeyAsync(erased, "kek1", replacement, Timeout));
        Assert.False(await Store(catalog).ReplaceWrappedKeyAsync(Guid.NewGuid(), "kek1", replacement, Timeout));

        var row = (await catalog.FindImageAsync(live, Timeout))!.WrappedKey!;
        Assert.Equal(replacement.KeyId, row.KeyId);
        Assert.Equal(replacement.Ciphertext, row.Ciphertext);
        Assert.Null((await catalog.FindImageAsync(erased, Timeout))!.WrappedKey);
    }

    [Fact]
    public async Task Rewrap_moves_every_live_data_key_to_the_current_key_vault_version_and_a_second_run_changes_nothing()
    {
        await using var vault = await FakeKeyVault.StartAsync();
        var kek = vault.NewKek();
        var catalog = await CreateMigratedCatalogAsync();
        var dataKeys = new Dictionary<Guid, byte[]>();
        var oldVersion = vault.Latest;
        await SeedAsync(catalog, 5, (id, cancellationToken) =>
        {
            dataKeys[id] = RandomNumberGenerator.GetBytes(32);
            return kek.WrapKeyAsync(dataKeys[id], id, cancellationToken);
        });

        var newVersion = vault.AddVersion();
        var rewrapper = new KeyRewrapper(Store(catalog), kek);
        var first = await rewrapper.RewrapAllAsync(batchSize: 2, Timeout);
        vault.Disable(oldVersion);
        var second = await rewrapper.RewrapAllAsync(batchSize: 2, Timeout);

        Assert.Equal(new RewrapResult(5, 5, 0), first);
        Assert.Equal(new RewrapResult(5, 0, 0), second);
        foreach (var (id, dataKey) in dataKeys)
        {
            var image = (await catalog.FindImageAsync(id, Timeout))!;
            Assert.Equal($"kv.{FakeKeyVault.KeyName}.{newVersion}", image.WrappedKey!.KeyId);
            Assert.Equal(dataKey, await kek.UnwrapKeyAsync(image.WrappedKey, id, Timeout));
        }
    }

    private static IWrappedKeyStore Store(IImageCatalog catalog) => (IWrappedKeyStore)catalog;

    /// <summary>One consent and <paramref name="count"/> live images under it, each with the wrapped key <paramref name="wrap"/> makes.</summary>
    private static async Task<Dictionary<Guid, WrappedKey>> SeedAsync(IImageCatalog catalog, int count, Func<Guid, CancellationToken, Task<WrappedKey>> wrap)
    {
        var now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var consent = new ConsentRecord(Guid.NewGuid(), "bot-a", new string('c', 64), "image-transfer", "2025-01", ConsentSources.Api, now, WithdrawnAt: null);
        await catalog.AddConsentAsync(consent, Timeout);
        var images = new Dictionary<Guid, WrappedKey>();
        for (var i = 0; i < count; i++)
        {
            var id = Guid.NewGuid();
            images[id] = await wrap(id, Timeout);
            Assert.True(await catalog.AddImageAsync(
                new ImageRecord(id, consent.BotId, consent.SubjectHash, consent.Id, "image/jpeg", 1, 1, 1, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), images[id], now, now.AddDays(3), ImageState.Active, null, null, null),
                Timeout));
        }

        return images;
    }
}
