using System.Collections.Concurrent;
using Npgsql;
using SecureImage.Core.Catalog;
using SecureImage.Core.Retention;

namespace SecureImage.Api.Jobs;

/// <summary>
/// One run of a job at a time across every instance. Hangfire runs each occurrence once but does not keep a
/// long run from overlapping the next occurrence; a run that finds the job running returns at once. Overlap
/// would be safe (the catalog's claims keep erasures exactly-once), but it would multiply the blob-delete
/// rate that <c>Retention:SweepMaxBlobDeletesPerSecond</c> caps and list every blob twice.
/// </summary>
internal interface IJobMutex
{
    /// <summary>This run's turn, to dispose when done; null when another run of <paramref name="job"/> holds it.</summary>
    Task<IAsyncDisposable?> TryEnterAsync(string job, CancellationToken cancellationToken);
}

/// <summary>The embedded default: one process, so a semaphore per job.</summary>
internal sealed class InProcessJobMutex : IJobMutex
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _gates = new(StringComparer.Ordinal);

    public Task<IAsyncDisposable?> TryEnterAsync(string job, CancellationToken cancellationToken)
    {
        var gate = _gates.GetOrAdd(job, _ => new SemaphoreSlim(1, 1));
        return Task.FromResult<IAsyncDisposable?>(gate.Wait(0, cancellationToken) ? new Turn(gate) : null);
    }

    private sealed class Turn(SemaphoreSlim gate) : IAsyncDisposable
    {
        private int _released;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gate.Release();
            }

            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>
/// PostgreSQL: a session-level advisory lock on a connection of its own (not pooled), held for the run.
/// The lock lives exactly as long as the session: a run that ends closes it, and a process killed with
/// <c>kill -9</c> loses its socket, so the server ends the session and frees the lock at once. Unlike a
/// Hangfire distributed lock, a dead holder never holds the job back for a timeout.
/// </summary>
internal sealed class PostgresJobMutex(JobsDatabase database) : IJobMutex
{
    /// <summary>Advisory lock keys: "SIMG" then a number per job (1 is the catalog's migration lock).</summary>
    private static readonly IReadOnlyDictionary<string, long> Keys = new Dictionary<string, long>(StringComparer.Ordinal)
    {
        [JobNames.RetentionSweep] = 0x53494D47_00000002,
        [JobNames.OrphanReconciliation] = 0x53494D47_00000003,
        [JobNames.PreviewPass] = 0x53494D47_00000005,
    };

    public async Task<IAsyncDisposable?> TryEnterAsync(string job, CancellationToken cancellationToken)
    {
        var key = Keys[job];
        NpgsqlConnection? connection = null;
        try
        {
            connection = await database.Sessions.OpenConnectionAsync(cancellationToken);
            await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock(@key);", connection);
            command.Parameters.AddWithValue("key", key);
            if (await command.ExecuteScalarAsync(cancellationToken) is true)
            {
                var held = connection;
                connection = null;
                return held;
            }

            return null;
        }
        catch (Exception ex) when (JobsDatabase.IsUnavailable(ex) && !cancellationToken.IsCancellationRequested)
        {
            throw new CatalogUnavailableException("The PostgreSQL database did not answer the job lock.", ex);
        }
        finally
        {
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }
        }
    }
}
