using System.Net;
using SecureImage.Api.Tests.TestSupport;
using Xunit.Abstractions;

namespace SecureImage.Api.Tests.Faults;

/// <summary>
/// PostgreSQL or Azurite stopped and restarted (by the PID the test started, same port and data) while
/// concurrent uploads run against the real service process: uploads during the outage answer documented
/// 503 problems and nothing else, the same service instance recovers on its own, no acknowledged upload
/// is lost, no live row points at a missing blob, and reconciliation leaves no orphan blob.
/// </summary>
public sealed class OutageUnderLoadTests(ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>How long the server stays down once stopped: longer than the blob pipeline's retries (about 3.5 s), so uploads do fail.</summary>
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(5);

    /// <summary>No upload may take longer than this, outage or not (a hang fails the test as "no answer").</summary>
    private static readonly TimeSpan RequestBound = TimeSpan.FromSeconds(60);

    /// <summary>Correctness bound, not a speed figure: uploads succeed again within this after the restart.</summary>
    private static readonly TimeSpan RecoveryBound = TimeSpan.FromSeconds(60);

    private readonly OwnServers _servers = new();
    private PostgresTestDatabase? _sharedServerDatabase;
    private ServiceProcess? _service;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_service is not null)
        {
            await _service.DisposeAsync();
        }

        if (_sharedServerDatabase is not null)
        {
            await _sharedServerDatabase.DisposeAsync();
        }

        await _servers.DisposeAsync();
    }

    [Fact]
    public async Task While_PostgreSQL_restarts_under_load_uploads_get_503_then_succeed_again_and_no_acknowledged_upload_is_lost()
    {
        // A database on a server of the test's own (the shared one must stay up); it goes with that server.
        var database = await PostgresTestDatabase.CreateAsync(await _servers.StartAsync(OwnServers.Postgres));
        await RestartUnderLoadAsync(OwnServers.Postgres, database.ConnectionString, TestServers.AzuriteConnectionString);
    }

    [Fact]
    public async Task While_Azurite_restarts_under_load_uploads_get_503_then_succeed_again_and_no_acknowledged_upload_is_lost()
    {
        var azurite = await _servers.StartAsync(OwnServers.Azurite);
        _sharedServerDatabase = await PostgresTestDatabase.CreateAsync();
        await RestartUnderLoadAsync(OwnServers.Azurite, _sharedServerDatabase.ConnectionString, azurite);
    }

    private async Task RestartUnderLoadAsync(string server, string catalogConnectionString, string azuriteConnectionString)
    {
        var concurrency = FaultSizes.ConcurrentUploads;
        var container = "outage" + Guid.NewGuid().ToString("N");

        // Reconciliation every 2 s, for blobs older than 50 s; uploads must commit within 45 s of their start (longer
        // than the blob client's retries during the outage), so it never races an upload in flight.
        _service = ServiceProcess.OnPostgresAndAzurite(catalogConnectionString, azuriteConnectionString, container, new Dictionary<string, string?>
        {
            ["SecureImage:Retention:OrphanGracePeriod"] = "00:00:50",
            ["SecureImage:Limits:UploadTimeout"] = "00:00:45",
            ["SecureImage:Retention:ReconcileInterval"] = "00:00:02",
        });
        await _service.StartAsync();
        var load = await UploadLoad.CreateAsync();
        using var client = _service.CreateClient();
        client.Timeout = RequestBound;
        var consentId = await client.CreateConsentAsync();

        // The load: `concurrency` workers; a refused worker waits 200 ms before its next upload (an eager
        // client, not a busy loop). Bounded by count and by the waits below.
        using var stop = new CancellationTokenSource();
        var workers = load.RunAsync(client, consentId, concurrency, maxRequests: concurrency * 100, pauseAfterRefusal: TimeSpan.FromMilliseconds(200), stop.Token);
        var warmUp = Math.Max(1, concurrency / 4);
        await load.WaitUntilAsync(l => l.Acknowledged.Count >= warmUp, TimeSpan.FromMinutes(2), $"{warmUp} acknowledged uploads before the outage");

        var stopping = load.Now;
        await _servers.StopAsync(server);
        var stopped = load.Now;
        await Task.Delay(Outage);
        await _servers.StartAsync(server);
        var restarted = load.Now;

        // Recovery without restarting the service: uploads sent after the server's restart are acknowledged again.
        var afterRestart = Math.Max(1, concurrency / 2);
        await load.WaitUntilAsync(
            l => l.Outcomes.Count(o => o.ImageId is not null && o.SentAt >= restarted) >= afterRestart,
            RecoveryBound,
            $"{afterRestart} acknowledged uploads sent after the {server} restart");
        await stop.CancelAsync();
        await workers.WaitAsync(TestTimeout.After(RequestBound * 2));

        var outcomes = load.Outcomes.ToList();
        var acknowledged = outcomes.Where(o => o.ImageId is not null).ToList();
        var firstAnswered = acknowledged.Where(o => o.AnsweredAt >= restarted).Min(o => o.AnsweredAt) - restarted;
        var firstSent = acknowledged.Where(o => o.SentAt >= restarted).Min(o => o.AnsweredAt) - restarted;
        var lastRefused = outcomes.Where(o => o.Outcome == "503").Select(o => o.AnsweredAt).DefaultIfEmpty(restarted).Max() - restarted;
        output.WriteLine($"{server} restarted under {concurrency} concurrent uploads: {load.Summary()}");
        output.WriteLine($"stop from +{stopping.TotalSeconds:0.0} s, stopped at +{stopped.TotalSeconds:0.0} s, restarted at +{restarted.TotalSeconds:0.0} s; " +
            $"answered while stopped: {outcomes.Count(o => o.Outcome == "503" && o.AnsweredAt >= stopped && o.AnsweredAt < restarted)} x 503, " +
            $"{acknowledged.Count(o => o.AnsweredAt >= stopped && o.AnsweredAt < restarted)} x 201; after the restart: first 201 at +{firstAnswered.TotalSeconds:0.0} s, " +
            $"first 201 of an upload sent after it at +{firstSent.TotalSeconds:0.0} s, last 503 at {lastRefused.TotalSeconds:+0.0;-0.0} s; " +
            $"slowest answer {outcomes.Max(o => o.AnsweredAt - o.SentAt).TotalSeconds:0.0} s");

        // Only 201 or the documented 503 (problem type service-unavailable, Retry-After: 5): never a 500,
        // another status, or no answer within the bound; and the outage did refuse uploads (those whose
        // blob-store retries outlast the outage succeed instead: that is fine).
        var unexpected = outcomes.Where(o => o.Outcome is not ("201" or "503")).ToList();
        Assert.True(unexpected.Count == 0, $"unexpected outcomes: {load.Summary()}\n{_service.Output}");
        Assert.Contains(outcomes, o => o.Outcome == "503" && o.AnsweredAt >= stopped && o.AnsweredAt < restarted);
        using var anonymous = _service.CreateClient(apiKey: null);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health/ready")).StatusCode);

        // Nothing acknowledged is lost; no live row without its blob; no orphan blob after reconciliation.
        await load.AssertAcknowledgedDownloadExactlyAsync(_service);
        var storage = new CatalogAndContainer(catalogConnectionString, azuriteConnectionString, container);
        var (liveRows, orphansBefore) = await storage.AssertNoRowWithoutBlobThenReconciledAsync(TimeSpan.FromSeconds(90), () => _service.Output);
        Assert.True(liveRows >= load.Acknowledged.Count);
        output.WriteLine($"{load.Acknowledged.Count} acknowledged uploads downloaded exactly, 0 lost; {liveRows} live rows, " +
            $"{orphansBefore} orphan blobs after the load, 0 after reconciliation");
    }
}
