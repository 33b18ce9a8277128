using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using SecureImage.Api.Security;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests.Admin;

/// <summary>What the service accepts from a provider, and which OIDC settings refuse the start.</summary>
public sealed class OidcConfigurationTests
{
    private const string Authority = "https://login.example.test/tenant-1/v2.0";
    private const string ClientId = "client-1";

    [Theory]
    [InlineData("valid", true)]
    [InlineData("wrong-audience", false)]
    [InlineData("expired", false)]
    [InlineData("other-issuer", false)]
    [InlineData("unsigned-key", false)]
    public async Task Only_an_unexpired_id_token_of_the_configured_issuer_for_this_client_id_is_accepted(string variant, bool accepted)
    {
        var settings = AdminSession.OfficerSettings();
        settings["SecureImage:Admin:Oidc:Authority"] = Authority;
        settings["SecureImage:Admin:Oidc:ClientId"] = ClientId;
        using var factory = new SecureImageFactory("Testing", settings);
        var options = factory.Services.GetRequiredService<IOptionsMonitor<OpenIdConnectOptions>>().Get(AdminSetup.OidcScheme);
        using var rsa = RSA.Create(2048);
        using var otherRsa = RSA.Create(2048);
        var key = new RsaSecurityKey(rsa) { KeyId = "k1" };

        // What the handler learns from the provider's metadata: its issuer and signing keys.
        var parameters = options.TokenValidationParameters.Clone();
        parameters.ValidIssuer = Authority;
        parameters.IssuerSigningKey = key;
        var now = DateTime.UtcNow;
        var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = variant == "other-issuer" ? "https://login.example.test/tenant-2/v2.0" : Authority,
            Audience = variant == "wrong-audience" ? "another-app" : ClientId,
            IssuedAt = variant == "expired" ? now.AddHours(-2) : now,
            NotBefore = variant == "expired" ? now.AddHours(-2) : now,
            Expires = variant == "expired" ? now.AddMinutes(-10) : now.AddMinutes(10),
            Subject = new ClaimsIdentity([new Claim("sub", "user-1"), new Claim("roles", "operator")]),
            SigningCredentials = new SigningCredentials(variant == "unsigned-key" ? new RsaSecurityKey(otherRsa) { KeyId = "k1" } : key, SecurityAlgorithms.RsaSha256),
        });

        var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, parameters);

        Assert.True(accepted == result.IsValid, $"{variant}: {result.Exception?.GetType().Name}");
        Assert.Equal(ClientId, options.ClientId);
        Assert.True(options.UsePkce);
        Assert.Equal("code", options.ResponseType);
        Assert.Equal(AdminDefaults.OidcCallbackPath, options.CallbackPath.Value);
        Assert.True(options.RequireHttpsMetadata);
    }

    [Fact]
    public void The_role_comes_from_the_roles_claim_or_a_mapped_group_and_operator_wins()
    {
        var oidc = new AdminOidcOptions { GroupRoles = new Dictionary<string, string> { ["g-ops"] = AdminRoles.Operator, ["g-privacy"] = AdminRoles.Viewer } };

        Assert.Equal(AdminRoles.Viewer, AdminSetup.RoleFrom(Principal(("roles", "viewer")), oidc));
        Assert.Equal(AdminRoles.Operator, AdminSetup.RoleFrom(Principal(("roles", "viewer"), ("roles", "operator")), oidc));
        Assert.Equal(AdminRoles.Viewer, AdminSetup.RoleFrom(Principal(("groups", "g-privacy")), oidc));
        Assert.Equal(AdminRoles.Operator, AdminSetup.RoleFrom(Principal(("groups", "g-privacy"), ("groups", "g-ops")), oidc));
        Assert.Null(AdminSetup.RoleFrom(Principal(("groups", "g-unknown"), ("roles", "Admin"), ("role", "operator")), oidc));
        Assert.Null(AdminSetup.RoleFrom(Principal(), oidc));

        static ClaimsPrincipal Principal(params (string Type, string Value)[] claims) => new(new ClaimsIdentity(claims.Select(c => new Claim(c.Type, c.Value))));
    }

    [Theory]
    [InlineData("Production", "http://127.0.0.1:5000", "must be an absolute https URL")]
    [InlineData("Development", "http://idp.example.test", "must be an absolute https URL")]
    [InlineData("Production", "https://login.example.test/t/v2.0", null)]
    [InlineData("Development", "http://127.0.0.1:5000", null)]
    [InlineData("Development", "http://[::1]:5000", null)]
    public void Outside_development_the_authority_must_be_https_and_in_development_http_only_on_loopback(string environment, string authority, string? refusal)
    {
        var result = Validate(environment, new AdminOptions { Oidc = { Authority = new Uri(authority), ClientId = ClientId } });

        if (refusal is null)
        {
            Assert.True(result.Succeeded, result.FailureMessage);
        }
        else
        {
            Assert.Contains(refusal, result.FailureMessage, StringComparison.Ordinal);
            Assert.Contains("SecureImage:Admin:Oidc:Authority", result.FailureMessage, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Turning_local_sign_in_off_without_oidc_or_oidc_without_a_client_id_or_with_an_unknown_group_role_refuses_the_start()
    {
        Assert.Contains("LocalSignInEnabled", Validate("Production", new AdminOptions { LocalSignInEnabled = false }).FailureMessage, StringComparison.Ordinal);
        Assert.Contains("ClientId", Validate("Production", new AdminOptions { Oidc = { Authority = new Uri(Authority) } }).FailureMessage, StringComparison.Ordinal);
        Assert.Contains("GroupRoles:g1", Validate("Production", new AdminOptions { Oidc = { Authority = new Uri(Authority), ClientId = ClientId, GroupRoles = { ["g1"] = "admin" } } }).FailureMessage, StringComparison.Ordinal);
        Assert.True(Validate("Production", new AdminOptions { LocalSignInEnabled = false, Oidc = { Authority = new Uri(Authority), ClientId = ClientId } }).Succeeded);
    }

    [Theory]
    [InlineData("00:00:29", "00:10:00", "RoleRecheckInterval")]
    [InlineData("1.00:00:01", "00:10:00", "RoleRecheckInterval")]
    [InlineData("00:10:00", "-00:00:01", "RoleRecheckGrace")]
    [InlineData("00:10:00", "1.00:00:01", "RoleRecheckGrace")]
    [InlineData("00:00:30", "00:00:00", null)]
    [InlineData("1.00:00:00", "1.00:00:00", null)]
    public void A_role_recheck_interval_or_grace_out_of_range_refuses_the_start(string interval, string grace, string? refused)
    {
        var result = Validate("Production", new AdminOptions
        {
            Oidc = { Authority = new Uri(Authority), ClientId = ClientId, RoleRecheckInterval = TimeSpan.Parse(interval, System.Globalization.CultureInfo.InvariantCulture), RoleRecheckGrace = TimeSpan.Parse(grace, System.Globalization.CultureInfo.InvariantCulture) },
        });

        if (refused is null)
        {
            Assert.True(result.Succeeded, result.FailureMessage);
        }
        else
        {
            Assert.Contains("SecureImage:Admin:Oidc:" + refused, result.FailureMessage, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task An_http_authority_outside_development_refuses_the_start_in_one_line()
    {
        var settings = AdminSession.OfficerSettings();
        settings["SecureImage:Admin:Oidc:Authority"] = "http://127.0.0.1:5999";
        settings["SecureImage:Admin:Oidc:ClientId"] = ClientId;
        using var factory = new SecureImageFactory("Testing", settings);

        var output = await factory.AssertRefusesToStartAsync();

        Assert.Contains("SecureImage:Admin:Oidc:Authority must be an absolute https URL", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("idp-q7.example.test")]
    [InlineData("/oidc-q7")]
    public async Task A_relative_authority_refuses_the_start_in_one_line_without_repeating_it(string authority)
    {
        var settings = AdminSession.OfficerSettings();
        settings["SecureImage:Admin:Oidc:Authority"] = authority;
        settings["SecureImage:Admin:Oidc:ClientId"] = ClientId;
        using var factory = new SecureImageFactory("Testing", settings);

        var output = await factory.AssertRefusesToStartAsync();

        Assert.Contains("SecureImage:Admin:Oidc:Authority must be an absolute https URL", output, StringComparison.Ordinal);
        Assert.DoesNotContain("q7", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_local_sign_in_off_the_password_form_is_gone_and_its_post_answers_404()
    {
        var settings = AdminSession.OfficerSettings();
        settings["SecureImage:Admin:Oidc:Authority"] = Authority;
        settings["SecureImage:Admin:Oidc:ClientId"] = ClientId;
        settings["SecureImage:Admin:LocalSignInEnabled"] = "false";
        using var factory = new SecureImageFactory("Testing", settings);
        var client = factory.CreateCookieClient();

        var page = await client.GetStringAsync("/admin/sign-in");
        var post = await client.PostSignInAsync(AdminSession.Officer, AdminSession.OfficerPassword);

        Assert.Contains("<form method=\"post\" action=\"/admin/sign-in\" class=\"card\" hidden>", page, StringComparison.Ordinal);
        Assert.Contains("href=\"/admin/sign-in/oidc\"", page, StringComparison.Ordinal);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, post.StatusCode);
    }

    [Fact]
    public async Task Without_oidc_configured_the_provider_button_is_hidden_and_its_address_answers_a_404_problem()
    {
        using var factory = new SecureImageFactory("Testing", AdminSession.OfficerSettings());
        var client = factory.CreateCookieClient();

        var page = await client.GetStringAsync("/admin/sign-in");

        Assert.Contains("<p class=\"card\" hidden><a id=\"oidc-sign-in\"", page, StringComparison.Ordinal);
        await (await client.GetAsync("/admin/sign-in/oidc")).AssertProblemAsync(System.Net.HttpStatusCode.NotFound, "not-found");
    }

    private static ValidateOptionsResult Validate(string environment, AdminOptions options) =>
        new ValidateAdminOptions(new HostingEnvironment { EnvironmentName = environment }).Validate(null, options);
}
