using System.Security.Claims;

namespace SecureImage.Api.Security;

/// <summary>
/// The two admin roles. A viewer (privacy officer) reads every panel, the audit log and its export and the jobs dashboard
/// (read-only); an operator also releases holds and acts on jobs. An admin without one of these roles has no access.
/// This is the one place that decides.
/// </summary>
internal static class AdminRoles
{
    public const string Viewer = "viewer";
    public const string Operator = "operator";

    /// <summary>The policy for what only an operator may do (the admin policy admits both roles).</summary>
    public const string OperatorPolicy = "AdminOperator";

    public static bool IsKnown(string? role) => role is Viewer or Operator;

    public static string? RoleOf(ClaimsPrincipal admin) => admin.FindFirstValue(AdminDefaults.RoleClaim) is { } role && IsKnown(role) ? role : null;

    public static bool MayOperate(ClaimsPrincipal admin) => RoleOf(admin) == Operator;

    public static bool MayOperateJobs(ClaimsPrincipal admin) => MayOperate(admin);

    /// <summary>The actor of an admin's audit events: role, stable id and display name (never an e-mail address).</summary>
    public static string Actor(ClaimsPrincipal admin) =>
        $"admin:{RoleOf(admin) ?? "none"}:{admin.FindFirstValue(AdminDefaults.AdminClaim)} ({admin.FindFirstValue(ClaimTypes.Name)})";
}
