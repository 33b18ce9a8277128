using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace SecureImage.Api.Security;

/// <summary>Wiring for admin identity: options, sessions, throttling, roles, and OpenID Connect when configured.</summary>
internal static partial class AdminSetup
{
    public const string OidcScheme = "AdminOidc";

    public static IServiceCollection AddAdminIdentity(this IServiceCollection services, IConfigurationSection section)
    {
        services.AddOptions<AdminOptions>().Bind(section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AdminOptions>, ValidateAdminOptions>();
        services.AddSingleton<AdminSessionStamps>();
        services.AddSingleton<SignInThrottle>();
        services.AddSingleton<PasswordCheckGate>();
        services.AddSingleton<AdminMetrics>();
        services.AddSingleton<OidcRoleRecheck>();
        return services;
    }

    /// <summary>The admin policy admits viewers and operators (an admin without a role has no session); the operator policy, operators only.</summary>
    public static AuthorizationBuilder AddAdminPolicies(this AuthorizationBuilder builder) => builder
        .AddPolicy(AdminDefaults.Policy, policy => policy.AddAuthenticationSchemes(AdminDefaults.Scheme)
            .RequireClaim(AdminDefaults.AdminClaim).RequireClaim(AdminDefaults.RoleClaim, AdminRoles.Viewer, AdminRoles.Operator))
        .AddPolicy(AdminRoles.OperatorPolicy, policy => policy.AddAuthenticationSchemes(AdminDefaults.Scheme)
            .RequireClaim(AdminDefaults.AdminClaim).RequireClaim(AdminDefaults.RoleClaim, AdminRoles.Operator));

    /// <summary>
    /// OpenID Connect (authorization code with PKCE) when <c>SecureImage:Admin:Oidc:Authority</c> is set: the provider's
    /// signed ID token, for this client id (audience) and the authority's issuer only, becomes an admin session in the
    /// catalog with the role from the roles claim or the group mapping; without a role the sign-in is refused.
    /// </summary>
    public static AuthenticationBuilder AddAdminOidc(this AuthenticationBuilder builder, IConfigurationSection section)
    {
        if (string.IsNullOrWhiteSpace(section["Oidc:Authority"]))
        {
            return builder;
        }

        builder.AddOpenIdConnect(OidcScheme, _ => { });
        builder.Services.AddOptions<OpenIdConnectOptions>(OidcScheme).Configure<IOptions<AdminOptions>, IHostEnvironment, TimeProvider>((o, admin, environment, timeProvider) =>
        {
            var oidc = admin.Value.Oidc;
            var authority = oidc.Authority!;
            o.Authority = authority.ToString();
            o.ClientId = oidc.ClientId;
            o.ClientSecret = string.IsNullOrEmpty(oidc.ClientSecret) ? null : oidc.ClientSecret;
            o.ResponseType = "code";
            o.ResponseMode = "form_post";
            o.UsePkce = true;
            o.CallbackPath = AdminDefaults.OidcCallbackPath;
            o.SignInScheme = AdminDefaults.Scheme;
            o.SignOutScheme = AdminDefaults.Scheme;
            o.TimeProvider = timeProvider;

            // Development may use a provider on http loopback (ValidateAdminOptions refuses it anywhere else).
            o.RequireHttpsMetadata = !(environment.IsDevelopment() && authority.Scheme == Uri.UriSchemeHttp && IsLoopback(authority));
            o.MapInboundClaims = false;
            o.GetClaimsFromUserInfoEndpoint = false;
            o.SaveTokens = false;
            o.Scope.Clear();
            o.Scope.Add("openid");
            o.Scope.Add("profile");

            // A refresh token lets the session recheck the account's role at the provider (OidcRoleRecheck).
            o.Scope.Add("offline_access");
            foreach (var scope in oidc.Scopes)
            {
                o.Scope.Add(scope);
            }

            o.TokenValidationParameters.ValidateAudience = true;
            o.TokenValidationParameters.ValidAudience = oidc.ClientId;
            o.TokenValidationParameters.ValidateIssuer = true;
            o.TokenValidationParameters.ValidateLifetime = true;
            o.TokenValidationParameters.ClockSkew = TimeSpan.FromMinutes(1);
            o.CorrelationCookie.Path = AdminDefaults.PagePath;
            o.NonceCookie.Path = AdminDefaults.PagePath;
            o.Events.OnTokenValidated = context => ToAdminPrincipalAsync(context, oidc);
            o.Events.OnRemoteFailure = context =>
            {
                var services = context.HttpContext.RequestServices;
                services.GetRequiredService<AdminMetrics>().SignInFailed("oidc");
                LogOidcRefused(services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(AdminSetup)), context.Failure?.GetType().Name ?? "none");
                context.Response.Redirect(AdminDefaults.SignInPath + "?error=oidc");
                context.HandleResponse();
                return Task.CompletedTask;
            };
        });
        return builder;
    }

    /// <summary>
    /// Replaces the provider's claims with the admin's: a stable id (Entra's object id <c>oid</c>, else <c>sub</c>), a
    /// display name (never an e-mail address), the role and the session stamp.
    /// </summary>
    private static Task ToAdminPrincipalAsync(Microsoft.AspNetCore.Authentication.OpenIdConnect.TokenValidatedContext context, AdminOidcOptions oidc)
    {
        var provider = context.Principal!;
        var subject = SubjectOf(provider);
        var role = RoleFrom(provider, oidc);
        if (string.IsNullOrEmpty(subject) || subject.Length > 200 || subject.Any(char.IsControl) || role is null)
        {
            context.Fail(role is null ? "The account holds no dashboard role." : "The ID token has no usable subject.");
            return Task.CompletedTask;
        }

        var name = provider.FindFirstValue("name");
        var display = string.IsNullOrWhiteSpace(name) || name.Contains('@', StringComparison.Ordinal) || name.Any(char.IsControl)
            ? "(no display name)"
            : name.Trim()[..Math.Min(name.Trim().Length, 100)];
        var stamps = context.HttpContext.RequestServices.GetRequiredService<AdminSessionStamps>();
        var identity = new ClaimsIdentity(
            [
                new Claim(AdminDefaults.AdminClaim, AdminSessionStamps.OidcId(subject)),
                new Claim(ClaimTypes.Name, display),
                new Claim(AdminDefaults.RoleClaim, role),
                new Claim(AdminSessionHandler.StampClaim, stamps.OidcStamp()!),
            ],
            AdminDefaults.Scheme,
            ClaimTypes.Name,
            AdminDefaults.RoleClaim);
        context.Principal = new ClaimsPrincipal(identity);
        context.Properties!.RedirectUri = AdminDefaults.SignedInPath;
        context.Properties.SetParameter(OidcRoleRecheck.RefreshTokenParameter, context.TokenEndpointResponse?.RefreshToken);
        return Task.CompletedTask;
    }

    /// <summary>The stable id of the account: Entra's object id <c>oid</c>, else <c>sub</c>.</summary>
    internal static string? SubjectOf(ClaimsPrincipal provider) => provider.FindFirstValue("oid") ?? provider.FindFirstValue("sub");

    /// <summary>Operator wins over viewer; roles come from the roles claim and from groups mapped in configuration.</summary>
    internal static string? RoleFrom(ClaimsPrincipal provider, AdminOidcOptions oidc)
    {
        var roles = provider.FindAll(oidc.RolesClaim).Select(c => c.Value)
            .Concat(provider.FindAll(oidc.GroupsClaim).Select(c => oidc.GroupRoles.GetValueOrDefault(c.Value)).OfType<string>())
            .ToHashSet(StringComparer.Ordinal);
        return roles.Contains(AdminRoles.Operator) ? AdminRoles.Operator : roles.Contains(AdminRoles.Viewer) ? AdminRoles.Viewer : null;
    }

    private static bool IsLoopback(Uri uri) => uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    [LoggerMessage(Level = LogLevel.Warning, Message = "An OpenID Connect sign-in was refused ({FailureType}).")]
    private static partial void LogOidcRefused(ILogger logger, string failureType);
}
