namespace SecureImage.Core.Admin;

/// <summary>
/// A dashboard session kept on the server. The browser holds only a random token; the catalog holds its SHA-256
/// (<see cref="TokenHash"/>), so a leaked catalog row cannot be replayed as a cookie. <see cref="Stamp"/> ties the session
/// to the admin's credentials and role when it began: any change to them ends it.
/// </summary>
public sealed record AdminSessionRecord(
    byte[] TokenHash,
    string AdminId,
    string DisplayName,
    string Role,
    string Stamp,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastSeenAt,
    DateTimeOffset AbsoluteExpiresAt);

/// <summary>Server-side admin sessions, shared by every instance on the same catalog (so signing out anywhere ends the session everywhere).</summary>
public interface IAdminSessionStore
{
    Task CreateAsync(AdminSessionRecord session, CancellationToken cancellationToken);

    /// <summary>The session with this token hash, unless it was revoked. Expiry is the caller's decision (it knows the clock and the idle timeout).</summary>
    Task<AdminSessionRecord?> FindAsync(byte[] tokenHash, CancellationToken cancellationToken);

    /// <summary>Moves the sliding window on; no effect on a revoked session.</summary>
    Task TouchAsync(byte[] tokenHash, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Ends the session; true when it was open.</summary>
    Task<bool> RevokeAsync(byte[] tokenHash, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Deletes sessions that ended (revoked or past their absolute lifetime) before <paramref name="before"/>.</summary>
    Task<int> PurgeAsync(DateTimeOffset before, CancellationToken cancellationToken);
}

/// <summary>Audit kinds of admin actions (the release of a hold is <c>image.hold-released</c>). The actor names role, admin id and display name.</summary>
public static class AdminAuditKinds
{
    public const string SignedIn = "admin.signed-in";
    public const string SignedOut = "admin.signed-out";

    /// <summary>A command on the jobs dashboard (trigger, requeue, delete); the reason is the command's route.</summary>
    public const string JobCommand = "admin.job-command";
}
