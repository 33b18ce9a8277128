using SecureImage.Core.Catalog;
using SecureImage.Core.Imaging;
using SecureImage.Core.Ingestion;
using SecureImage.Core.Previews;
using SecureImage.Core.Retention;
using SecureImage.Core.Tests.Imaging;
using SecureImage.Core.Tests.TestSupport;
using SecureImage.Core.Threading;
using ControlledClock = Microsoft.Extensions.Time.Testing.FakeTimeProvider;

namespace SecureImage.Core.Tests.Previews;

/// <summary>The background pass over the catalog's backlog. Its clock says what "now" is; its polling waits are real (50 ms).</summary>
public sealed class PreviewPassTests : PreviewCatalogTest
{
    private static readonly TimeSpan MaxDeferral = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);
    private readonly Requests _requests = new();
    private readonly FakeTimeProvider _clock = new(Now);

    [Fact]
    public async Task While_a_request_is_in_flight_the_preview_waits_and_it_is_made_once_the_service_is_quiet()
    {
        var image = await IngestAsync(Corpus.Read("jpg_gps_DSCN0010.jpg"));
        _requests.RequestsInFlight = 1;

        var run = NewPass(NewRenderer()).RunAsync(CancellationToken.None);
        await Task.Delay(PreviewPass.BusyPollInterval * 6);
        Assert.False(run.IsCompleted);
        Assert.Null((await Catalog.FindImageAsync(image.Id, CancellationToken.None))!.PreviewState);
        Assert.Single(Blobs.Blobs);

        _requests.RequestsInFlight = 0;
        var result = await run.WaitAsync(Patience);

        Assert.Equal(new PreviewPassResult(1, 0, 0, 0, null), result);
        Assert.Equal(PreviewState.Ready, (await Catalog.FindImageAsync(image.Id, CancellationToken.None))!.PreviewState);
    }

    [Fact]
    public async Task An_image_committed_while_the_pass_works_is_made_by_that_same_pass()
    {
        var first = await IngestAsync(Corpus.Read("jpg_gps_DSCN0010.jpg"));
        _requests.RequestsInFlight = 1;

        // The pass has read a backlog of one and waits for quiet; another instance commits an image meanwhile.
        var run = NewPass(NewRenderer()).RunAsync(CancellationToken.None);
        await Task.Delay(PreviewPass.BusyPollInterval * 6);
        var later = await IngestAsync(Corpus.Read("jpg_Canon_40D.jpg"));
        _requests.RequestsInFlight = 0;
        var result = await run.WaitAsync(Patience);

        Assert.Equal(new PreviewPassResult(2, 0, 0, 0, null), result);
        Assert.Equal(PreviewState.Ready, (await Catalog.FindImageAsync(first.Id, CancellationToken.None))!.PreviewState);
        Assert.Equal(PreviewState.Ready, (await Catalog.FindImageAsync(later.Id, CancellationToken.None))!.PreviewState);
    }

    [Fact]
    public async Task A_preview_waits_no_longer_than_the_maximum_deferral_after_its_upload_while_the_service_stays_busy()
    {
        var image = await IngestAsync(Corpus.Read("jpg_gps_DSCN0010.jpg"), at: Now - TimeSpan.FromMinutes(1));
        _requests.RequestsInFlight = 3;

        var run = NewPass(NewRenderer()).RunAsync(CancellationToken.None);
        await Task.Delay(PreviewPass.BusyPollInterval * 6);
        Assert.False(run.IsCompleted);

        // Four minutes later its upload is five minutes old: made though requests are still in flight.
        _clock.Now = Now + TimeSpan.FromMinutes(4);
        var result = await run.WaitAsync(Patience);

        Assert.Equal(new PreviewPassResult(1, 0, 1, 0, null), result);
        Assert.Equal(PreviewState.Ready, (await Catalog.FindImageAsync(image.Id, CancellationToken.None))!.PreviewState);
    }

    [Fact]
    public async Task A_pass_walks_the_whole_backlog_past_its_batch_size_and_leaves_images_that_need_no_preview()
    {
        var waiting = new List<ImageRecord>();
        for (var index = 0; index < 5; index++)
        {
            waiting.Add(await IngestAsync(Corpus.Read("jpg_Canon_40D.jpg"), at: Now.AddSeconds(index)));
        }

        var erasing = await IngestAsync(Corpus.Read("jpg_Canon_40D.jpg"));
        await Catalog.RequestEraseAsync(erasing.Id, "deleted-by-bot", "bot:bot-a", Now, CancellationToken.None);
        var expired = await IngestAsync(Corpus.Read("jpg_Canon_40D.jpg"), at: Now - new ImageIngestionOptions().RetentionPeriod);

        var result = await NewPass(NewRenderer(), batchSize: 2).RunAsync(CancellationToken.None);

        Assert.Equal(new PreviewPassResult(5, 0, 0, 0, null), result);
        foreach (var image in waiting)
        {
            Assert.Equal(PreviewState.Ready, (await Catalog.FindImageAsync(image.Id, CancellationToken.None))!.PreviewState);
        }

        Assert.Null((await Catalog.FindImageAsync(erasing.Id, CancellationToken.None))!.PreviewState);
        Assert.Null((await Catalog.FindImageAsync(expired.Id, CancellationToken.None))!.PreviewState);
        Assert.Empty(await Catalog.FindImagesWithoutPreviewAsync(Now, null, 10, CancellationToken.None));
    }

    [Fact]
    public async Task An_image_that_keeps_failing_is_tried_a_few_times_and_never_holds_up_the_others()
    {
        var broken = await IngestAsync(Corpus.Read("jpg_Canon_40D.jpg"), at: Now.AddSeconds(-1));
        var fine = await IngestAsync(Corpus.Read("jpg_gps_DSCN0010.jpg"));
        await Blobs.DeleteIfExistsAsync(broken.BlobName, CancellationToken.None);
        var pass = NewPass(NewRenderer());

        var results = new List<PreviewPassResult>();
        for (var run = 0; run < 4; run++)
        {
            results.Add(await pass.RunAsync(CancellationToken.None));
        }

        Assert.Equal(
            [new(1, 0, 0, 1, "not-made"), new(0, 0, 0, 1, "not-made"), new(0, 0, 0, 1, "not-made"), new(0, 0, 0, 0, null)],
            results);
        Assert.Equal(PreviewState.Ready, (await Catalog.FindImageAsync(fine.Id, CancellationToken.None))!.PreviewState);
    }

    [Fact]
    public async Task A_decode_that_times_out_marks_its_preview_unavailable_and_the_pass_goes_on_to_the_next_image()
    {
        var slow = await IngestAsync(RealImages.Jpeg(4000, 3000), at: Now.AddSeconds(-2));
        var next = await IngestAsync(Corpus.Read("jpg_gps_DSCN0010.jpg"), at: Now.AddSeconds(-1));
        var decodeClock = new ControlledClock();
        var renderer = NewRenderer(decodeClock);

        var run = NewPass(renderer).RunAsync(CancellationToken.None);
        await EventuallyAsync(() => renderer.DecodesRunning == 1);
        decodeClock.Advance(PreviewRendererOptions.DefaultDecodeTimeout);
        var result = await run.WaitAsync(Patience);

        Assert.Equal(new PreviewPassResult(1, 1, 0, 0, null), result);
        var timedOut = (await Catalog.FindImageAsync(slow.Id, CancellationToken.None))!;
        Assert.Equal((PreviewState.Unavailable, null), (timedOut.PreviewState, timedOut.Preview));
        Assert.NotNull(timedOut.WrappedKey);
        Assert.Equal(PreviewState.Ready, (await Catalog.FindImageAsync(next.Id, CancellationToken.None))!.PreviewState);
    }

    [Fact]
    public async Task A_decode_started_in_a_quiet_moment_stops_when_a_request_arrives_and_is_made_once_the_service_is_quiet_again()
    {
        // 30 MP: its decode lasts long enough to be caught running (a 4000 x 3000 one outlasts a poll in the timeout test).
        var image = await IngestAsync(RealImages.Jpeg(6000, 5000));
        var renderer = NewPatientRenderer();

        var run = NewPass(renderer).RunAsync(CancellationToken.None);
        await EventuallyAsync(() => renderer.DecodesRunning == 1);
        _requests.RequestsInFlight = 1;

        // The decode itself ends (its pixels go back), and the pass waits for the next quiet moment.
        await EventuallyAsync(() => renderer.DecodesRunning == 0);
        await Task.Delay(PreviewPass.BusyPollInterval * 4);
        Assert.False(run.IsCompleted);
        Assert.Null((await Catalog.FindImageAsync(image.Id, CancellationToken.None))!.PreviewState);

        _requests.RequestsInFlight = 0;
        var result = await run.WaitAsync(Patience);

        Assert.Equal(new PreviewPassResult(1, 0, 0, 0, null, Yielded: 1), result);
        Assert.Equal(PreviewState.Ready, (await Catalog.FindImageAsync(image.Id, CancellationToken.None))!.PreviewState);
        Assert.Equal(2, Blobs.Blobs.Count);
    }

    [Fact]
    public async Task A_preview_a_link_asks_for_while_the_pass_decodes_it_is_not_stopped_by_the_requests_in_flight()
    {
        var image = await IngestAsync(RealImages.Jpeg(6000, 5000));
        var renderer = NewPatientRenderer();
        var maker = NewMaker(renderer);

        var run = NewPass(renderer, maker: maker).RunAsync(CancellationToken.None);
        await EventuallyAsync(() => renderer.DecodesRunning == 1);
        var asked = maker.EnsureAsync(image.Id, CancellationToken.None);
        _requests.RequestsInFlight = 1;

        Assert.Equal(PreviewState.Ready, (await asked.WaitAsync(Patience))!.PreviewState);
        _requests.RequestsInFlight = 0;
        Assert.Equal(new PreviewPassResult(1, 0, 0, 0, null, Yielded: 0), await run.WaitAsync(Patience));
    }

    [Fact]
    public async Task A_preview_a_link_asks_for_after_the_pass_gave_its_decode_up_is_made_for_that_link_while_requests_are_in_flight()
    {
        var image = await IngestAsync(RealImages.Jpeg(6000, 5000));
        var renderer = NewPatientRenderer();
        var maker = NewMaker(renderer);

        var run = NewPass(renderer, maker: maker).RunAsync(CancellationToken.None);
        await EventuallyAsync(() => renderer.DecodesRunning == 1);
        _requests.RequestsInFlight = 1;
        await EventuallyAsync(() => renderer.DecodesRunning == 0);
        var made = await maker.EnsureAsync(image.Id, CancellationToken.None).WaitAsync(Patience);

        Assert.Equal(PreviewState.Ready, made!.PreviewState);
        _requests.RequestsInFlight = 0;
        Assert.Equal(new PreviewPassResult(1, 0, 0, 0, null, Yielded: 1), await run.WaitAsync(Patience));
        Assert.Equal(2, Blobs.Blobs.Count);
    }

    [Fact]
    public async Task Before_a_decode_in_a_quiet_moment_the_pass_gives_back_held_memory_and_not_before_an_overdue_one_or_in_a_gap_between_requests()
    {
        await IngestAsync(Corpus.Read("jpg_gps_DSCN0010.jpg"));
        var quiet = new HeldMemory(thresholdBytes: long.MinValue);

        Assert.Equal(new PreviewPassResult(1, 0, 0, 0, null), await NewPass(NewRenderer(), heldMemory: quiet).RunAsync(CancellationToken.None).WaitAsync(Patience));
        Assert.Equal(1, quiet.Releases);

        // Overdue while requests are in flight: a collection's pause would delay them.
        await IngestAsync(Corpus.Read("jpg_Canon_40D.jpg"), at: Now - MaxDeferral - TimeSpan.FromMinutes(1));
        _requests.RequestsInFlight = 2;
        var busy = new HeldMemory(thresholdBytes: long.MinValue);

        Assert.Equal(new PreviewPassResult(1, 0, 1, 0, null), await NewPass(NewRenderer(), heldMemory: busy).RunAsync(CancellationToken.None).WaitAsync(Patience));
        Assert.Equal(0, busy.Releases);

        // Nothing in flight, but a request ended just now: a gap in a steady load, where the collection's pause would land on the next one.
        await IngestAsync(Corpus.Read("jpg_gps_DSCN0010.jpg"));
        _requests.RequestsInFlight = 0;
        _requests.LastRequestEndedAt = _clock.GetTimestamp();
        var gap = new HeldMemory(thresholdBytes: long.MinValue);

        Assert.Equal(new PreviewPassResult(1, 0, 0, 0, null), await NewPass(NewRenderer(), heldMemory: gap).RunAsync(CancellationToken.None).WaitAsync(Patience));
        Assert.Equal(0, gap.Releases);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 20)]
    [InlineData(2, 40)]
    [InlineData(6, 640)]
    [InlineData(7, 1200)]
    [InlineData(int.MaxValue, 1200)]
    public void Each_yield_of_one_image_doubles_the_quiet_its_next_try_waits_for_up_to_a_minute(int yields, int quietPolls) =>
        Assert.Equal(quietPolls, PreviewPass.QuietPollsBefore(yields));

    private static PreviewRenderer NewRenderer(TimeProvider? decodeClock = null) =>
        new(PreviewRendererOptions.Default with { MaxConcurrentDecodes = 1 }, decodeClock ?? TimeProvider.System);

    /// <summary>For the 30 MP decodes: at nice 19 on a saturated CI machine one may outlast the default 30 s timeout.</summary>
    private static PreviewRenderer NewPatientRenderer() =>
        new(PreviewRendererOptions.Default with { MaxConcurrentDecodes = 1, DecodeTimeout = TimeSpan.FromMinutes(5) }, TimeProvider.System);

    private PreviewMaker NewMaker(PreviewRenderer renderer) => new(Catalog, Blobs, Kek, renderer, _clock, TimeSpan.FromMinutes(10));

    private PreviewPass NewPass(PreviewRenderer renderer, int batchSize = 50, PreviewMaker? maker = null, HeldMemory? heldMemory = null) =>
        new(Catalog, maker ?? NewMaker(renderer), _requests, _clock, new PreviewPassOptions(MaxDeferral, batchSize), heldMemory);

    private static async Task EventuallyAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition never held");
            await Task.Delay(5);
        }
    }

    private sealed class Requests : IRequestActivity
    {
        private int _inFlight;

        public int RequestsInFlight
        {
            get => Volatile.Read(ref _inFlight);
            set => Volatile.Write(ref _inFlight, value);
        }

        public long? LastRequestEndedAt { get; set; }
    }
}
