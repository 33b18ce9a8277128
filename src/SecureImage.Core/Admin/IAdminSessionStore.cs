namespace SecureImage.Core.Admin;

/// <summary>
/// A dashboard session kept on the server. The browser holds only a random token; the catalog holds its SHA-256
/// (<see cref="TokenHash"/>), so a leaked catalog row cannot be replayed as a cookie. <see cref="Stamp"/> ties the session
/// to the admin's credentials and role when it began: any change to them ends it. A session from an identity provider
/// also carries what its role recheck needs: the provider's refresh token, protected (never stored in the clear), when the
/// role was last confirmed, and when to ask again; local sessions have none of the three.
/// </summary>
public sealed record AdminSessionRecord(
    byte[] TokenHash,
    string AdminId,
    string DisplayName,
    string Role,
    string Stamp,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastSeenAt,
    DateTimeOffset AbsoluteExpiresAt,
    string? ProtectedRefreshToken = null,
    DateTimeOffset? RoleCheckedAt = null,
    DateTimeOffset? RecheckAfter = null);

/// <summary>Server-side admin sessions, shared by every instance on the same catalog (so signing out anywhere ends the session everywhere).</summary>
public interface IAdminSessionStore
{
    Task CreateAsync(AdminSessionRecord session, CancellationToken cancellationToken);

    /// <summary>The session with this token hash, unless it was revoked. Expiry is the caller's decision (it knows the clock and the idle timeout).</summary>
    Task<AdminSessionRecord?> FindAsync(byte[] tokenHash, CancellationToken cancellationToken);

    /// <summary>Moves the sliding window on; no effect on a revoked session.</summary>
    Task TouchAsync(byte[] tokenHash, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>
    /// Takes the role recheck of an open session: moves <see cref="AdminSessionRecord.RecheckAfter"/> from
    /// <paramref name="seenRecheckAfter"/> to <paramref name="retryAfter"/>, true only for the one caller whose
    /// <paramref name="seenRecheckAfter"/> was still current (concurrent requests of one browser redeem the refresh token once).
    /// </summary>
    Task<bool> ClaimRecheckAsync(byte[] tokenHash, DateTimeOffset seenRecheckAfter, DateTimeOffset retryAfter, CancellationToken cancellationToken);

    /// <summary>Records a successful recheck: the role was confirmed at <paramref name="checkedAt"/>; a rotated refresh token replaces the old one (null keeps it).</summary>
    Task RecordRecheckAsync(byte[] tokenHash, string? protectedRefreshToken, DateTimeOffset checkedAt, DateTimeOffset nextRecheckAfter, CancellationToken cancellationToken);

    /// <summary>Ends the session and forgets its refresh token; true when it was open.</summary>
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
