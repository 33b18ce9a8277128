using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SecureImage.Storage.Tests.Catalog;

/// <summary>
/// A loopback TCP relay in front of PostgreSQL that, once the client sends the statement that commits (a
/// <c>COMMIT</c>, or a statement containing the given text that runs in its own transaction), passes it on
/// to the server but cuts the client off, so the server commits and the client never hears it did.
/// The server side is drained until the server answers, then closed gracefully, so the server does
/// not see a reset before it has processed the commit.
/// </summary>
internal sealed class CommitReplyDroppingProxy : IAsyncDisposable
{
    // By default the query string as the protocol carries it (NUL-terminated), so "READ COMMITTED" in a BEGIN does not match.
    private readonly byte[] _commit;
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _server;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _relays = [];
    private readonly Task _accepting;

    public CommitReplyDroppingProxy(string host, int port, string committingStatement = "COMMIT\0")
    {
        _commit = Encoding.ASCII.GetBytes(committingStatement);
        _server = new IPEndPoint(Dns.GetHostAddresses(host).First(a => a.AddressFamily == AddressFamily.InterNetwork), port);
        _listener.Start();
        _accepting = AcceptAsync(_stop.Token);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    private readonly TaskCompletionSource _commitAnswered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once a commit was passed on and the server answered it (the client never sees that answer).</summary>
    public Task CommitAnswered => _commitAnswered.Task;

    private async Task AcceptAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(cancellationToken);
                lock (_relays)
                {
                    _relays.Add(RelayAsync(client, cancellationToken));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task RelayAsync(TcpClient client, CancellationToken cancellationToken)
    {
        using var server = new TcpClient();
        using (client)
        {
            await server.ConnectAsync(_server, cancellationToken);
            var fromClient = client.GetStream();
            var toServer = server.GetStream();
            using var cutOff = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var replies = CopyAsync(toServer, fromClient, cutOff.Token);
            var buffer = new byte[64 * 1024];
            try
            {
                int read;
                while ((read = await fromClient.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    var chunk = buffer.AsMemory(0, read);
                    var isCommit = chunk.Span.IndexOf(_commit) >= 0;
                    if (isCommit)
                    {
                        // Stop relaying replies before the server can answer the commit.
                        await cutOff.CancelAsync();
                        await IgnoreCancellationAsync(replies);
                    }

                    await toServer.WriteAsync(chunk, cancellationToken);
                    if (isCommit)
                    {
                        client.Client.Close(0);
                        await toServer.ReadAtLeastAsync(buffer, 1, throwOnEndOfStream: false, cancellationToken);
                        _commitAnswered.TrySetResult();
                        server.Client.Shutdown(SocketShutdown.Send);
                        return;
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // A relay ends when either side goes away.
            }
        }
    }

    private static async Task CopyAsync(Stream from, Stream to, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer, cancellationToken)) > 0)
            {
                await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
        }
    }

    private static async Task IgnoreCancellationAsync(Task task)
    {
        try
        {
            await task;
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        Task[] relays;
        lock (_relays)
        {
            relays = [.. _relays];
        }

        await Task.WhenAll(relays.Select(IgnoreCancellationAsync));
        _stop.Dispose();
    }
}
