using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace SecureImage.Api.Security;

/// <summary>
/// The local admins allowed into the dashboard, from <c>SecureImage:Admins:{user}:PasswordHash</c> and
/// <c>SecureImage:Admins:{user}:Role</c> (<c>viewer</c> or <c>operator</c>; an admin without a role cannot sign in). In
/// Development a well-known operator (<c>admin</c> / <c>dev-admin</c>) exists when none is configured under
/// that name; outside Development an admin whose password is <c>dev-admin</c> refuses the start.
/// </summary>
internal sealed partial class AdminAccounts
{
    public const string DevAdminUser = "admin";
    public const string DevAdminPassword = "dev-admin";
    private readonly Dictionary<string, string> _hashes;
    private readonly Dictionary<string, string> _roles;

    /// <summary>Compared against for unknown users, so an unknown name costs the same as a wrong password.</summary>
    private readonly string _decoyHash = AdminPasswordHash.Create(Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)));

    public AdminAccounts(IReadOnlyDictionary<string, (string PasswordHash, string? Role)> admins, bool isDevelopment)
    {
        _hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        _roles = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (user, (hash, role)) in admins)
        {
            if (!UserPattern().IsMatch(user))
            {
                throw Refuse($"SecureImage:Admins: user name '{user}' must be 1–64 characters of a–z, 0–9, '.', '-' or '_'.");
            }

            if (!AdminPasswordHash.TryParse(hash, out _, out _, out _))
            {
                throw Refuse($"SecureImage:Admins:{user}:PasswordHash must be '{AdminPasswordHash.Prefix}$<iterations ≥ {AdminPasswordHash.MinIterations}>$<salt>$<hash>' (make one with `dotnet run --project src/SecureImage.Api --no-launch-profile -- hash-password`).");
            }

            if (!isDevelopment && AdminPasswordHash.Verify(DevAdminPassword, hash))
            {
                throw Refuse($"SecureImage:Admins:{user} uses the well-known development password; it is refused outside Development.");
            }

            if (!string.IsNullOrEmpty(role) && !AdminRoles.IsKnown(role))
            {
                throw Refuse($"SecureImage:Admins:{user}:Role must be '{AdminRoles.Viewer}' or '{AdminRoles.Operator}'.");
            }

            _hashes[user] = hash;
            if (!string.IsNullOrEmpty(role))
            {
                _roles[user] = role;
            }
        }

        if (isDevelopment && !_hashes.ContainsKey(DevAdminUser))
        {
            _hashes[DevAdminUser] = AdminPasswordHash.Create(DevAdminPassword);
            _roles[DevAdminUser] = AdminRoles.Operator;
        }
    }

    public int Count => _hashes.Count;

    /// <summary>True only for a known user with this password. Unknown users are checked against a decoy hash (same cost, same answer).</summary>
    public bool Verify(string user, string password)
    {
        var known = _hashes.TryGetValue(user, out var hash);
        var matches = AdminPasswordHash.Verify(password, hash ?? _decoyHash);
        return known && matches;
    }

    /// <summary>The configured role, or null: an admin without a role has no access.</summary>
    public string? RoleOf(string user) => _roles.GetValueOrDefault(user);

    /// <summary>
    /// What a local admin's session is bound to: a digest of the password hash and the role. A session whose stamp no longer
    /// matches (password changed, role changed, admin removed) has ended.
    /// </summary>
    public string? StampOf(string user) => _hashes.TryGetValue(user, out var hash)
        ? "local:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{hash}\n{RoleOf(user)}")).AsSpan(0, 16))
        : null;

    /// <summary>An opaque id for logs: the first 8 bytes of the user name's SHA-256, in hex.</summary>
    public static string OpaqueId(string user) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(user)).AsSpan(0, 8));

    /// <summary>A refused start (one line naming the setting, <see cref="Configuration.StartupRefusal"/>).</summary>
    private static OptionsValidationException Refuse(string message) => new("SecureImage:Admins", typeof(AdminAccounts), [message]);

    [GeneratedRegex("^[a-z0-9._-]{1,64}$")]
    private static partial Regex UserPattern();
}

/// <summary>Resolves <see cref="AdminAccounts"/> before the server accepts requests, so bad admin configuration fails the start.</summary>
internal sealed class AdminAccountsCheck(AdminAccounts admins) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = admins.Count;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
