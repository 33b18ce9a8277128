using SecureImage.Core.Catalog;
using SecureImage.Core.Crypto;
using SecureImage.Core.Retention;

namespace SecureImage.Storage.Tests.Catalog;

/// <summary>
/// What every <see cref="IImageCatalog"/> adapter must do, whatever its provider. A subclass per
/// provider supplies a fresh, migrated catalog for each test; nothing here depends on the provider.
/// </summary>
public abstract class CatalogContractTests
{
    protected static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_760_000_000_123);

    /// <summary>A fresh, empty catalog with every migration applied, owned by the current test.</summary>
    protected abstract Task<IImageCatalog> CreateMigratedCatalogAsync();

    [Fact]
    public async Task Consent_round_trips_with_every_field()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var consent = NewConsent("bot-a") with { Source = ConsentSources.KakaoPlugin };

        await catalog.AddConsentAsync(consent, CancellationToken.None);

        Assert.Equal(consent, await catalog.FindConsentAsync(consent.Id, CancellationToken.None));
        Assert.Null(await catalog.FindConsentAsync(Guid.NewGuid(), CancellationToken.None));
    }

    [Fact]
    public async Task Consent_grant_is_audited()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var consent = NewConsent("bot-a");

        await catalog.AddConsentAsync(consent, CancellationToken.None);

        var granted = Assert.Single(await catalog.GetHistoryAsync(consent.Id, CancellationToken.None));
        Assert.Equal((AuditKinds.ConsentGranted, "bot-a", consent.Id, (Guid?)null, consent.GrantedAt), (granted.Kind, granted.BotId, granted.ConsentId, granted.ImageId, granted.At));
    }

    [Fact]
    public async Task Image_round_trips_with_every_field_exactly()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var consent = await AddConsentAsync(catalog, "bot-a");
        var image = NewImage(consent) with
        {
            ContentType = "image/webp",
            Bytes = 5_000_000_123,
            Width = 19_999,
            Height = 1,
            CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(1_760_000_000_999),
            ExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds(1_760_259_200_001),
        };

        Assert.True(await catalog.AddImageAsync(image, CancellationToken.None));

        var found = await catalog.FindImageAsync(image.Id, CancellationToken.None);
        Assert.NotNull(found);
        AssertSameImage(image, found);
        Assert.Null(await catalog.FindImageAsync(Guid.NewGuid(), CancellationToken.None));
    }

    [Fact]
    public async Task Image_upload_is_audited()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var image = NewImage(await AddConsentAsync(catalog, "bot-a"));

        await catalog.AddImageAsync(image, CancellationToken.None);

        var uploaded = Assert.Single(await catalog.GetHistoryAsync(image.Id, CancellationToken.None));
        Assert.Equal((AuditKinds.ImageUploaded, "bot-a", image.Id, (Guid?)image.ConsentId, image.CreatedAt), (uploaded.Kind, uploaded.BotId, uploaded.ImageId, uploaded.ConsentId, uploaded.At));
    }

    [Fact]
    public async Task Image_under_a_withdrawn_consent_is_not_added()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var consent = await AddConsentAsync(catalog, "bot-a");
        await catalog.WithdrawConsentAsync(consent.Id, "bot:bot-a", T0, CancellationToken.None);
        var image = NewImage(consent);

        Assert.False(await catalog.AddImageAsync(image, CancellationToken.None));

        await AssertNothingRecordedAsync(catalog, image);
    }

    [Fact]
    public async Task Image_under_another_bots_consent_is_not_added()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var consent = await AddConsentAsync(catalog, "bot-a");
        var image = NewImage(consent) with { BotId = "bot-b" };

        Assert.False(await catalog.AddImageAsync(image, CancellationToken.None));

        await AssertNothingRecordedAsync(catalog, image);
    }

    [Fact]
    public async Task Image_under_an_unknown_consent_is_not_added()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var image = NewImage(NewConsent("bot-a"));

        Assert.False(await catalog.AddImageAsync(image, CancellationToken.None));

        await AssertNothingRecordedAsync(catalog, image);
    }

    [Fact]
    public async Task Withdrawing_an_unknown_consent_returns_null()
    {
        var catalog = await CreateMigratedCatalogAsync();

        Assert.Null(await catalog.WithdrawConsentAsync(Guid.NewGuid(), "bot:bot-a", T0, CancellationToken.None));
    }

    [Fact]
    public async Task Withdrawing_a_consent_expires_its_images_at_once_and_leaves_others_alone()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var consent = await AddConsentAsync(catalog, "bot-a");
        var other = await AddConsentAsync(catalog, "bot-a");
        var first = await AddImageAsync(catalog, NewImage(consent));
        var second = await AddImageAsync(catalog, NewImage(consent));
        var alreadyExpiring = await AddImageAsync(catalog, NewImage(consent) with { ExpiresAt = T0.AddMinutes(5) });
        var untouched = await AddImageAsync(catalog, NewImage(other));
        var withdrawnAt = T0.AddMinutes(30);

        var toErase = await catalog.WithdrawConsentAsync(consent.Id, "bot:bot-a", withdrawnAt, CancellationToken.None);

        Assert.NotNull(toErase);
        Assert.Equal(
            new[] { first, second, alreadyExpiring }.Select(i => new ImageToErase(i.Id, i.BlobName, "consent-withdrawn")).OrderBy(i => i.ImageId),
            toErase.ToErase.OrderBy(i => i.ImageId));
        Assert.Equal(0, toErase.Held);
        Assert.Equal(withdrawnAt, (await catalog.FindConsentAsync(consent.Id, CancellationToken.None))!.WithdrawnAt);
        foreach (var image in new[] { first, second })
        {
            var found = await catalog.FindImageAsync(image.Id, CancellationToken.None);
            Assert.Equal((withdrawnAt, "consent-withdrawn", ImageState.Active), (found!.ExpiresAt, found.PendingEraseReason, found.State));
            Assert.True(found.IsGone(withdrawnAt));
        }

        Assert.Equal(T0.AddMinutes(5), (await catalog.FindImageAsync(alreadyExpiring.Id, CancellationToken.None))!.ExpiresAt);
        AssertSameImage(untouched, (await catalog.FindImageAsync(untouched.Id, CancellationToken.None))!);
    }

    [Fact]
    public async Task Withdrawing_a_consent_twice_audits_it_once_and_keeps_the_first_time()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var consent = await AddConsentAsync(catalog, "bot-a");
        var image = await AddImageAsync(catalog, NewImage(consent));

        await catalog.WithdrawConsentAsync(consent.Id, "bot:bot-a", T0.AddMinutes(1), CancellationToken.None);
        var again = await catalog.WithdrawConsentAsync(consent.Id, "bot:bot-a", T0.AddMinutes(2), CancellationToken.None);

        Assert.Equal([image.Id], again!.ToErase.Select(i => i.ImageId));
        Assert.Equal(T0.AddMinutes(1), (await catalog.FindConsentAsync(consent.Id, CancellationToken.None))!.WithdrawnAt);
        Assert.Equal(T0.AddMinutes(1), (await catalog.FindImageAsync(image.Id, CancellationToken.None))!.ExpiresAt);
        var withdrawn = Assert.Single(await catalog.GetHistoryAsync(consent.Id, CancellationToken.None), e => e.Kind == AuditKinds.ConsentWithdrawn);
        Assert.Equal((T0.AddMinutes(1), "bot:bot-a", consent.Id, "bot-a"), (withdrawn.At, withdrawn.Actor, withdrawn.ConsentId, withdrawn.BotId));
    }

    [Fact]
    public async Task Withdrawing_a_consent_does_not_list_images_already_erased()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var consent = await AddConsentAsync(catalog, "bot-a");
        var erased = await AddImageAsync(catalog, NewImage(consent));
        await catalog.MarkErasedAsync(erased.Id, "retention", "system:retention", T0.AddMinutes(1), CancellationToken.None);

        var toErase = await catalog.WithdrawConsentAsync(consent.Id, "bot:bot-a", T0.AddMinutes(2), CancellationToken.None);

        Assert.Equal((0, 0), (toErase!.ToErase.Count, toErase.Held));
        Assert.Null((await catalog.FindImageAsync(erased.Id, CancellationToken.None))!.PendingEraseReason);
    }

    [Fact]
    public async Task Requesting_an_erase_expires_the_image_now_and_records_why()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var image = await AddImageAsync(catalog, NewImage(await AddConsentAsync(catalog, "bot-a")));
        var at = T0.AddHours(1);

        var decision = await catalog.RequestEraseAsync(image.Id, "deleted-by-bot", "bot:bot-a", at, CancellationToken.None);

        Assert.Equal(new EraseDecision(EraseOutcome.EraseNow, new ImageToErase(image.Id, image.BlobName, "deleted-by-bot")), decision);
        var found = (await catalog.FindImageAsync(image.Id, CancellationToken.None))!;
        Assert.Equal((at, "deleted-by-bot", ImageState.Active), (found.ExpiresAt, found.PendingEraseReason, found.State));
        Assert.NotNull(found.WrappedKey);
        var requested = Assert.Single(await catalog.GetHistoryAsync(image.Id, CancellationToken.None), e => e.Kind == AuditKinds.EraseRequested);
        Assert.Equal((at, "bot:bot-a", "deleted-by-bot", "bot-a"), (requested.At, requested.Actor, requested.Reason, requested.BotId));
    }

    [Fact]
    public async Task Requesting_an_erase_never_extends_the_expiry()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var image = await AddImageAsync(catalog, NewImage(await AddConsentAsync(catalog, "bot-a")) with { ExpiresAt = T0.AddMinutes(1) });

        Assert.Equal(EraseOutcome.EraseNow, (await catalog.RequestEraseAsync(image.Id, "admin", "admin:alice", T0.AddMinutes(5), CancellationToken.None)).Outcome);

        Assert.Equal(T0.AddMinutes(1), (await catalog.FindImageAsync(image.Id, CancellationToken.None))!.ExpiresAt);
    }

    [Fact]
    public async Task Requesting_an_erase_of_an_unknown_or_erased_image_says_so_and_records_nothing()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var image = await AddImageAsync(catalog, NewImage(await AddConsentAsync(catalog, "bot-a")));
        await catalog.MarkErasedAsync(image.Id, "retention", "system:retention", T0.AddMinutes(1), CancellationToken.None);

        Assert.Equal(new EraseDecision(EraseOutcome.NotFound, null), await catalog.RequestEraseAsync(Guid.NewGuid(), "admin", "admin:alice", T0.AddMinutes(2), CancellationToken.None));
        Assert.Equal(new EraseDecision(EraseOutcome.AlreadyErased, null), await catalog.RequestEraseAsync(image.Id, "admin", "admin:alice", T0.AddMinutes(2), CancellationToken.None));
        Assert.DoesNotContain(await catalog.GetHistoryAsync(image.Id, CancellationToken.None), e => e.Kind == AuditKinds.EraseRequested);
    }

    [Fact]
    public async Task A_second_erase_request_keeps_the_first_reason_and_is_audited_with_its_own()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var image = await AddImageAsync(catalog, NewImage(await AddConsentAsync(catalog, "bot-a")));
        await catalog.RequestEraseAsync(image.Id, "consent-withdrawn", "bot:bot-a", T0.AddMinutes(1), CancellationToken.None);

        var decision = await catalog.RequestEraseAsync(image.Id, "deleted-by-bot", "bot:bot-a", T0.AddMinutes(2), CancellationToken.None);

        Assert.Equal(new ImageToErase(image.Id, image.BlobName, "consent-withdrawn"), decision.ToErase);
        Assert.Equal(["consent-withdrawn", "deleted-by-bot"], (await catalog.GetHistoryAsync(image.Id, CancellationToken.None)).Where(e => e.Kind == AuditKinds.EraseRequested).Select(e => e.Reason));
    }

    [Fact]
    public async Task Requesting_an_erase_of_a_held_image_expires_it_and_defers_the_erase_to_the_release()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var image = await AddImageAsync(catalog, NewImage(await AddConsentAsync(catalog, "bot-a")));
        var retention = (IRetentionCatalog)catalog;
        Assert.Equal(HoldOutcome.Held, await retention.PlaceHoldAsync(image.Id, "bot:bot-a", "privacy", T0.AddMinutes(1), CancellationToken.None));

        var decision = await catalog.RequestEraseAsync(image.Id, "deleted-by-bot", "bot:bot-a", T0.AddMinutes(2), CancellationToken.None);

        Assert.Equal(new EraseDecision(EraseOutcome.DeferredByHold, null), decision);
        var found = (await catalog.FindImageAsync(image.Id, CancellationToken.None))!;
        Assert.Equal((ImageState.Held, T0.AddMinutes(2), "deleted-by-bot"), (found.State, found.ExpiresAt, found.PendingEraseReason));
        Assert.NotNull(found.WrappedKey);
        Assert.False(await catalog.MarkErasedAsync(image.Id, "deleted-by-bot", "bot:bot-a", T0.AddMinutes(3), CancellationToken.None));
        Assert.Single(await catalog.GetHistoryAsync(image.Id, CancellationToken.None), e => e.Kind == AuditKinds.EraseRequested);

        // Released, the erase it waited for may go ahead, and no new hold can stop it.
        Assert.True(await retention.ReleaseHoldAsync(image.Id, "admin:officer", "reviewed", T0.AddMinutes(4), CancellationToken.None));
        Assert.Equal(HoldOutcome.Gone, await retention.PlaceHoldAsync(image.Id, "bot:bot-a", "privacy", T0.AddMinutes(1), CancellationToken.None));
        Assert.Equal(EraseOutcome.EraseNow, (await catalog.RequestEraseAsync(image.Id, "deleted-by-bot", "bot:bot-a", T0.AddMinutes(5), CancellationToken.None)).Outcome);
    }

    [Fact]
    public async Task A_hold_is_placed_only_on_an_image_that_is_not_erased_expired_or_committed_to_erasure()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var retention = (IRetentionCatalog)catalog;
        var consent = await AddConsentAsync(catalog, "bot-a");
        var active = await AddImageAsync(catalog, NewImage(consent));
        var erased = await AddImageAsync(catalog, NewImage(consent));
        await catalog.MarkErasedAsync(erased.Id, "retention", "system:retention", T0, CancellationToken.None);
        var eraseRequested = await AddImageAsync(catalog, NewImage(consent));
        await catalog.RequestEraseAsync(eraseRequested.Id, "deleted-by-bot", "bot:bot-a", T0.AddDays(4), CancellationToken.None);
        var expired = await AddImageAsync(catalog, NewImage(consent));
        var at = expired.ExpiresAt;

        Assert.Equal(HoldOutcome.Held, await retention.PlaceHoldAsync(active.Id, "bot:bot-a", "privacy", at.AddMilliseconds(-1), CancellationToken.None));
        Assert.Equal(HoldOutcome.AlreadyHeld, await retention.PlaceHoldAsync(active.Id, "bot:bot-a", "other", at.AddDays(1), CancellationToken.None));
        Assert.Equal(HoldOutcome.Gone, await retention.PlaceHoldAsync(erased.Id, "bot:bot-a", "privacy", T0, CancellationToken.None));
        // Asked for with a clock that is behind the one that requested the erase: still refused.
        Assert.Equal(HoldOutcome.Gone, await retention.PlaceHoldAsync(eraseRequested.Id, "bot:bot-a", "privacy", T0, CancellationToken.None));
        Assert.Equal(HoldOutcome.Gone, await retention.PlaceHoldAsync(expired.Id, "bot:bot-a", "privacy", at, CancellationToken.None));
        Assert.Equal(HoldOutcome.NotFound, await retention.PlaceHoldAsync(Guid.NewGuid(), "bot:bot-a", "privacy", T0, CancellationToken.None));

        foreach (var image in new[] { erased, eraseRequested, expired })
        {
            Assert.NotEqual(ImageState.Held, (await catalog.FindImageAsync(image.Id, CancellationToken.None))!.State);
            Assert.DoesNotContain(await catalog.GetHistoryAsync(image.Id, CancellationToken.None), e => e.Kind == HoldAuditKinds.ImageHeld);
        }

        var held = Assert.Single(await catalog.GetHistoryAsync(active.Id, CancellationToken.None), e => e.Kind == HoldAuditKinds.ImageHeld);
        Assert.Equal((at.AddMilliseconds(-1), "privacy", "bot:bot-a"), (held.At, held.Reason, held.Actor));
    }

    [Fact]
    public async Task A_hold_and_an_erase_request_racing_on_one_image_agree_on_which_won()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var retention = (IRetentionCatalog)catalog;
        var consent = await AddConsentAsync(catalog, "bot-a");
        for (var round = 0; round < 50; round++)
        {
            var image = await AddImageAsync(catalog, NewImage(consent));
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var hold = Task.Run(async () =>
            {
                await start.Task;
                return await retention.PlaceHoldAsync(image.Id, "bot:bot-a", "privacy", T0, CancellationToken.None);
            });
            var erase = Task.Run(async () =>
            {
                await start.Task;
                return (await catalog.RequestEraseAsync(image.Id, "deleted-by-bot", "bot:bot-a", T0, CancellationToken.None)).Outcome;
            });
            start.SetResult();

            var outcomes = (await hold, await erase);

            var state = (await catalog.FindImageAsync(image.Id, CancellationToken.None))!.State;
            Assert.True(
                outcomes == (HoldOutcome.Held, EraseOutcome.DeferredByHold) && state == ImageState.Held
                || outcomes == (HoldOutcome.Gone, EraseOutcome.EraseNow) && state == ImageState.Active,
                $"round {round}: {outcomes}, state {state}");
        }
    }

    [Fact]
    public async Task Withdrawing_a_consent_leaves_its_held_images_to_be_erased_after_release()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var consent = await AddConsentAsync(catalog, "bot-a");
        var held = await AddImageAsync(catalog, NewImage(consent));
        var free = await AddImageAsync(catalog, NewImage(consent));
        Assert.Equal(HoldOutcome.Held, await ((IRetentionCatalog)catalog).PlaceHoldAsync(held.Id, "bot:bot-a", "privacy", T0, CancellationToken.None));

        var withdrawal = await catalog.WithdrawConsentAsync(consent.Id, "bot:bot-a", T0.AddMinutes(1), CancellationToken.None);

        Assert.Equal([new ImageToErase(free.Id, free.BlobName, "consent-withdrawn")], withdrawal!.ToErase);
        Assert.Equal(1, withdrawal.Held);
        var found = (await catalog.FindImageAsync(held.Id, CancellationToken.None))!;
        Assert.Equal((ImageState.Held, T0.AddMinutes(1), "consent-withdrawn"), (found.State, found.ExpiresAt, found.PendingEraseReason));
    }

    [Fact]
    public async Task Marking_an_image_erased_shreds_its_key_and_audits_it_once()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var image = await AddImageAsync(catalog, NewImage(await AddConsentAsync(catalog, "bot-a")));
        await catalog.RequestEraseAsync(image.Id, "deleted-by-bot", "bot:bot-a", T0.AddMinutes(1), CancellationToken.None);
        var at = T0.AddMinutes(2);

        Assert.True(await catalog.MarkErasedAsync(image.Id, "deleted-by-bot", "system:eraser", at, CancellationToken.None));
        Assert.False(await catalog.MarkErasedAsync(image.Id, "retention", "system:retention", at.AddMinutes(1), CancellationToken.None));

        var found = (await catalog.FindImageAsync(image.Id, CancellationToken.None))!;
        Assert.Null(found.WrappedKey);
        Assert.Equal((ImageState.Erased, (DateTimeOffset?)at, "deleted-by-bot", (string?)null), (found.State, found.ErasedAt, found.EraseReason, found.PendingEraseReason));
        Assert.True(found.IsGone(at));
        var erased = Assert.Single(await catalog.GetHistoryAsync(image.Id, CancellationToken.None), e => e.Kind == AuditKinds.ImageErased);
        Assert.Equal((at, "system:eraser", "deleted-by-bot", (Guid?)image.ConsentId), (erased.At, erased.Actor, erased.Reason, erased.ConsentId));
    }

    [Fact]
    public async Task Marking_an_unknown_image_erased_returns_false()
    {
        var catalog = await CreateMigratedCatalogAsync();

        Assert.False(await catalog.MarkErasedAsync(Guid.NewGuid(), "retention", "system:retention", T0, CancellationToken.None));
    }

    [Fact]
    public async Task Concurrent_erases_of_one_image_erase_it_exactly_once()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var image = await AddImageAsync(catalog, NewImage(await AddConsentAsync(catalog, "bot-a")));
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var erases = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            await start.Task;
            return await catalog.MarkErasedAsync(image.Id, "retention", $"system:worker-{i}", T0.AddMinutes(1), CancellationToken.None);
        })).ToArray();
        start.SetResult();
        var results = await Task.WhenAll(erases);

        Assert.Single(results, erased => erased);
        Assert.Single(await catalog.GetHistoryAsync(image.Id, CancellationToken.None), e => e.Kind == AuditKinds.ImageErased);
    }

    [Fact]
    public async Task A_download_read_records_its_event_only_while_the_image_is_servable()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var consent = await AddConsentAsync(catalog, "bot-a");
        var served = await AddImageAsync(catalog, NewImage(consent) with { ExpiresAt = T0.AddMinutes(10) });
        var held = await AddImageAsync(catalog, NewImage(consent) with { ExpiresAt = T0.AddMinutes(10) });
        Assert.Equal(HoldOutcome.Held, await ((IRetentionCatalog)catalog).PlaceHoldAsync(held.Id, "bot:bot-a", "privacy", T0.AddMinutes(1), CancellationToken.None));
        var erased = await AddImageAsync(catalog, NewImage(consent) with { ExpiresAt = T0.AddMinutes(10) });
        await catalog.RequestEraseAsync(erased.Id, "deleted-by-bot", "bot:bot-a", T0.AddMinutes(1), CancellationToken.None);
        await catalog.MarkErasedAsync(erased.Id, "deleted-by-bot", "system:eraser", T0.AddMinutes(1), CancellationToken.None);

        var read = await catalog.FindImageForDownloadAsync(served.Id, T0.AddMinutes(2), "link", null, CancellationToken.None);
        var atExpiry = await catalog.FindImageForDownloadAsync(served.Id, T0.AddMinutes(10), "link", null, CancellationToken.None);
        var heldRead = await catalog.FindImageForDownloadAsync(held.Id, T0.AddMinutes(2), "link", null, CancellationToken.None);
        var erasedRead = await catalog.FindImageForDownloadAsync(erased.Id, T0.AddMinutes(2), "link", null, CancellationToken.None);

        var found = (await catalog.FindImageAsync(served.Id, CancellationToken.None))!;
        Assert.Equal((found.Id, found.State, found.ExpiresAt, found.BlobName), (read!.Id, read.State, read.ExpiresAt, read.BlobName));
        Assert.Equal(found.WrappedKey!.KeyId, read.WrappedKey!.KeyId);
        Assert.Equal(found.WrappedKey.Ciphertext, read.WrappedKey.Ciphertext);
        Assert.Equal((ImageState.Active, ImageState.Held, ImageState.Erased), (atExpiry!.State, heldRead!.State, erasedRead!.State));
        Assert.Null(await catalog.FindImageForDownloadAsync(Guid.NewGuid(), T0.AddMinutes(2), "link", null, CancellationToken.None));
        var downloads = (await catalog.GetHistoryAsync(served.Id, CancellationToken.None)).Where(e => e.Kind == AuditKinds.ImageDownloaded).ToList();
        Assert.Equal([new AuditEvent(T0.AddMinutes(2), AuditKinds.ImageDownloaded, "bot-a", served.Id, consent.Id, "link", null)], downloads);
        Assert.DoesNotContain(await catalog.GetHistoryAsync(held.Id, CancellationToken.None), e => e.Kind == AuditKinds.ImageDownloaded);
        Assert.DoesNotContain(await catalog.GetHistoryAsync(erased.Id, CancellationToken.None), e => e.Kind == AuditKinds.ImageDownloaded);
    }

    [Fact]
    public async Task History_lists_an_images_events_oldest_first()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var consent = await AddConsentAsync(catalog, "bot-a");
        var image = await AddImageAsync(catalog, NewImage(consent));
        var other = await AddImageAsync(catalog, NewImage(consent));
        await catalog.AppendAuditAsync(new AuditEvent(T0.AddMinutes(1), AuditKinds.LinkIssued, "bot-a", image.Id, null, "bot:bot-a", null), CancellationToken.None);
        await catalog.AppendAuditAsync(new AuditEvent(T0.AddMinutes(1), AuditKinds.LinkIssued, "bot-a", other.Id, null, "bot:bot-a", null), CancellationToken.None);
        await catalog.AppendAuditAsync(new AuditEvent(T0.AddMinutes(2), AuditKinds.ImageDownloaded, "bot-a", image.Id, null, "link", null), CancellationToken.None);
        await catalog.RequestEraseAsync(image.Id, "deleted-by-bot", "bot:bot-a", T0.AddMinutes(3), CancellationToken.None);
        await catalog.MarkErasedAsync(image.Id, "deleted-by-bot", "system:eraser", T0.AddMinutes(3), CancellationToken.None);

        var history = await catalog.GetHistoryAsync(image.Id, CancellationToken.None);

        Assert.Equal(
            [AuditKinds.ImageUploaded, AuditKinds.LinkIssued, AuditKinds.ImageDownloaded, AuditKinds.EraseRequested, AuditKinds.ImageErased],
            history.Select(e => e.Kind));
        Assert.All(history, e => Assert.Equal(image.Id, e.ImageId));
        Assert.Equal(new AuditEvent(T0.AddMinutes(2), AuditKinds.ImageDownloaded, "bot-a", image.Id, null, "link", null), history[2]);
    }

    [Fact]
    public async Task History_of_a_consent_lists_its_own_events_oldest_first()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var consent = await AddConsentAsync(catalog, "bot-a");
        await AddImageAsync(catalog, NewImage(consent));
        await catalog.WithdrawConsentAsync(consent.Id, "bot:bot-a", T0.AddMinutes(1), CancellationToken.None);

        var history = await catalog.GetHistoryAsync(consent.Id, CancellationToken.None);

        Assert.Equal([AuditKinds.ConsentGranted, AuditKinds.ImageUploaded, AuditKinds.ConsentWithdrawn], history.Select(e => e.Kind));
        Assert.Empty(await catalog.GetHistoryAsync(Guid.NewGuid(), CancellationToken.None));
    }

    [Fact]
    public async Task Migrating_twice_is_harmless()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var consent = await AddConsentAsync(catalog, "bot-a");
        var image = await AddImageAsync(catalog, NewImage(consent));

        await catalog.MigrateAsync(CancellationToken.None);
        await catalog.CheckAvailableAsync(CancellationToken.None);

        AssertSameImage(image, (await catalog.FindImageAsync(image.Id, CancellationToken.None))!);
        Assert.True(await catalog.AddImageAsync(NewImage(consent), CancellationToken.None));
    }

    [Fact]
    public async Task Preview_is_recorded_once_beside_the_image_and_read_back_exactly()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var image = await AddImageAsync(catalog, NewImage(await AddConsentAsync(catalog, "bot-a")));
        var preview = NewPreview();

        Assert.True(await catalog.RecordPreviewAsync(image.Id, preview, CancellationToken.None));
        Assert.False(await catalog.RecordPreviewAsync(image.Id, NewPreview(), CancellationToken.None));
        Assert.False(await catalog.MarkPreviewUnavailableAsync(image.Id, CancellationToken.None));

        var found = (await catalog.FindImageAsync(image.Id, CancellationToken.None))!;
        Assert.Equal(PreviewState.Ready, found.PreviewState);
        Assert.Equal(preview with { WrappedKey = null }, found.Preview! with { WrappedKey = null });
        Assert.Equal(preview.WrappedKey!.KeyId, found.Preview!.WrappedKey!.KeyId);
        Assert.Equal(preview.WrappedKey.Ciphertext, found.Preview.WrappedKey.Ciphertext);
    }

    [Fact]
    public async Task Preview_marked_unavailable_stays_so_and_takes_no_preview_afterwards()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var image = await AddImageAsync(catalog, NewImage(await AddConsentAsync(catalog, "bot-a")));

        Assert.True(await catalog.MarkPreviewUnavailableAsync(image.Id, CancellationToken.None));
        Assert.False(await catalog.RecordPreviewAsync(image.Id, NewPreview(), CancellationToken.None));

        var found = (await catalog.FindImageAsync(image.Id, CancellationToken.None))!;
        Assert.Equal((PreviewState.Unavailable, (ImagePreview?)null), (found.PreviewState, found.Preview));
    }

    [Fact]
    public async Task Preview_is_not_recorded_once_the_image_is_committed_to_erasure()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var image = await AddImageAsync(catalog, NewImage(await AddConsentAsync(catalog, "bot-a")));
        await catalog.RequestEraseAsync(image.Id, "deleted-by-bot", "bot:bot-a", T0, CancellationToken.None);

        Assert.False(await catalog.RecordPreviewAsync(image.Id, NewPreview(), CancellationToken.None));
        Assert.False(await catalog.RecordPreviewAsync(Guid.NewGuid(), NewPreview(), CancellationToken.None));

        Assert.Null((await catalog.FindImageAsync(image.Id, CancellationToken.None))!.PreviewState);
    }

    [Fact]
    public async Task Every_erase_step_names_the_preview_blob_and_erasure_shreds_the_preview_key()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var retention = (IRetentionCatalog)catalog;
        var consent = await AddConsentAsync(catalog, "bot-a");
        var (deleted, withdrawn, expired) = (NewImage(consent), NewImage(await AddConsentAsync(catalog, "bot-a")), NewImage(consent) with { ExpiresAt = T0.AddMinutes(1) });
        var previews = new Dictionary<Guid, ImagePreview>();
        foreach (var image in new[] { deleted, withdrawn, expired })
        {
            await AddImageAsync(catalog, image);
            previews[image.Id] = NewPreview();
            Assert.True(await catalog.RecordPreviewAsync(image.Id, previews[image.Id], CancellationToken.None));
        }

        var decision = await catalog.RequestEraseAsync(deleted.Id, "deleted-by-bot", "bot:bot-a", T0, CancellationToken.None);
        var withdrawal = await catalog.WithdrawConsentAsync(withdrawn.ConsentId, "bot:bot-a", T0, CancellationToken.None);
        var claimed = await retention.ClaimExpiredAsync(T0.AddMinutes(2), 10, TimeSpan.FromMinutes(5), CancellationToken.None);

        Assert.Equal(previews[deleted.Id].BlobName, decision.ToErase!.PreviewBlobName);
        Assert.Equal(previews[withdrawn.Id].BlobName, Assert.Single(withdrawal!.ToErase).PreviewBlobName);
        Assert.Equal(previews[expired.Id].BlobName, Assert.Single(claimed, i => i.ImageId == expired.Id).PreviewBlobName);
        foreach (var image in new[] { deleted, withdrawn, expired })
        {
            Assert.True(await catalog.MarkErasedAsync(image.Id, "retention", "test", T0.AddMinutes(3), CancellationToken.None));
            var erased = (await catalog.FindImageAsync(image.Id, CancellationToken.None))!;
            Assert.Null(erased.Preview!.WrappedKey);
            Assert.Null(erased.WrappedKey);
        }
    }

    [Fact]
    public async Task A_preview_blob_is_live_for_reconciliation_until_its_image_is_erased()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var retention = (IRetentionCatalog)catalog;
        var image = await AddImageAsync(catalog, NewImage(await AddConsentAsync(catalog, "bot-a")));
        var preview = NewPreview();
        await catalog.RecordPreviewAsync(image.Id, preview, CancellationToken.None);

        var live = await retention.FindLiveBlobNamesAsync([image.BlobName, preview.BlobName, "0123"], CancellationToken.None);
        Assert.Equal(new[] { image.BlobName, preview.BlobName }.Order(StringComparer.Ordinal), live.Order(StringComparer.Ordinal));

        await catalog.RequestEraseAsync(image.Id, "deleted-by-bot", "bot:bot-a", T0, CancellationToken.None);
        await catalog.MarkErasedAsync(image.Id, "deleted-by-bot", "bot:bot-a", T0, CancellationToken.None);
        Assert.Empty(await retention.FindLiveBlobNamesAsync([image.BlobName, preview.BlobName], CancellationToken.None));
    }

    [Fact]
    public async Task The_dashboard_counts_a_preview_in_the_bytes_stored()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var image = await AddImageAsync(catalog, NewImage(await AddConsentAsync(catalog, "bot-a")));
        var preview = NewPreview();
        await catalog.RecordPreviewAsync(image.Id, preview, CancellationToken.None);

        var overview = await ((SecureImage.Core.Dashboard.IDashboardQueries)catalog).GetOverviewAsync(T0, CancellationToken.None);

        Assert.Equal(new SecureImage.Core.Dashboard.BotStorage("bot-a", 1, image.Bytes + preview.Bytes), Assert.Single(overview.Stored));
    }

    [Fact]
    public async Task The_preview_backlog_lists_live_images_without_a_preview_oldest_first_page_by_page()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var backlog = (Core.Previews.IPreviewBacklog)catalog;
        var consent = await AddConsentAsync(catalog, "bot-a");

        // Two uploads in the same millisecond, split across pages (the cursor breaks the tie by id), one later, one earlier.
        var waiting = new[] { T0, T0, T0.AddSeconds(1), T0.AddSeconds(-1) }
            .Select(at => NewImage(consent) with { CreatedAt = at })
            .ToList();
        var withPreview = NewImage(consent) with { CreatedAt = T0.AddSeconds(-2) };
        var undecodable = NewImage(consent) with { CreatedAt = T0.AddSeconds(-3) };
        var erasing = NewImage(consent) with { CreatedAt = T0.AddSeconds(-4) };
        var expired = NewImage(consent) with { CreatedAt = T0.AddSeconds(-5), ExpiresAt = T0.AddMinutes(1) };
        foreach (var image in waiting.Concat([withPreview, undecodable, erasing, expired]))
        {
            await AddImageAsync(catalog, image);
        }

        await catalog.RecordPreviewAsync(withPreview.Id, NewPreview(), CancellationToken.None);
        await catalog.MarkPreviewUnavailableAsync(undecodable.Id, CancellationToken.None);
        await catalog.RequestEraseAsync(erasing.Id, "deleted-by-bot", "bot:bot-a", T0, CancellationToken.None);

        var now = T0.AddMinutes(2);
        var pages = new List<IReadOnlyList<Core.Previews.PreviewCandidate>>();
        Core.Previews.PreviewCandidate? cursor = null;
        do
        {
            pages.Add(await backlog.FindImagesWithoutPreviewAsync(now, cursor, 2, CancellationToken.None));
            cursor = pages[^1].LastOrDefault() ?? cursor;
        }
        while (pages[^1].Count == 2);

        var expected = waiting.OrderBy(i => i.CreatedAt).ThenBy(i => i.Id.ToString("D")).Select(i => new Core.Previews.PreviewCandidate(i.Id, i.CreatedAt)).ToList();
        Assert.Equal([2, 2, 0], pages.Select(page => page.Count));
        Assert.Equal(expected.Select(c => c.CreatedAt), pages.SelectMany(page => page).Select(c => c.CreatedAt));
        Assert.Equal(expected.Select(c => c.ImageId).ToHashSet(), pages.SelectMany(page => page).Select(c => c.ImageId).ToHashSet());
        Assert.Equal(4, pages.SelectMany(page => page).Select(c => c.ImageId).Distinct().Count());
    }

    protected static ImagePreview NewPreview() => new(
        Guid.NewGuid(),
        "image/png",
        54_321,
        1280,
        720,
        Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()),
        new WrappedKey("kek-2", Enumerable.Range(0, 61).Select(i => (byte)(i * 3)).ToArray()));

    protected static ConsentRecord NewConsent(string botId) =>
        new(Guid.NewGuid(), botId, new string('c', 64), "image-transfer", "2025-01", ConsentSources.Api, T0.AddMinutes(-10), WithdrawnAt: null);

    protected static ImageRecord NewImage(ConsentRecord consent) => new(
        Guid.NewGuid(),
        consent.BotId,
        consent.SubjectHash,
        consent.Id,
        "image/jpeg",
        12_345,
        640,
        480,
        Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()),
        new WrappedKey("kek-1", Enumerable.Range(0, 61).Select(i => (byte)(i * 7)).ToArray()),
        T0,
        T0.AddDays(3),
        ImageState.Active,
        ErasedAt: null,
        EraseReason: null,
        PendingEraseReason: null);

    protected static async Task<ConsentRecord> AddConsentAsync(IImageCatalog catalog, string botId)
    {
        var consent = NewConsent(botId);
        await catalog.AddConsentAsync(consent, CancellationToken.None);
        return consent;
    }

    protected static async Task<ImageRecord> AddImageAsync(IImageCatalog catalog, ImageRecord image)
    {
        Assert.True(await catalog.AddImageAsync(image, CancellationToken.None));
        return image;
    }

    /// <summary>Records compare their wrapped key bytes by reference, so those are compared apart.</summary>
    protected static void AssertSameImage(ImageRecord expected, ImageRecord actual)
    {
        Assert.Equal(expected with { WrappedKey = null }, actual with { WrappedKey = null });
        Assert.Equal(expected.WrappedKey?.KeyId, actual.WrappedKey?.KeyId);
        Assert.Equal(expected.WrappedKey?.Ciphertext, actual.WrappedKey?.Ciphertext);
    }

    private static async Task AssertNothingRecordedAsync(IImageCatalog catalog, ImageRecord image)
    {
        Assert.Null(await catalog.FindImageAsync(image.Id, CancellationToken.None));
        Assert.Empty(await catalog.GetHistoryAsync(image.Id, CancellationToken.None));
    }
}
