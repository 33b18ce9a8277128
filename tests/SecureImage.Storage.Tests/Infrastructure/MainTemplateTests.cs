using System.Globalization;
using System.Text.RegularExpressions;

namespace SecureImage.Storage.Tests.Infrastructure;

/// <summary>infra/azure/main.bicep, checked structurally (the Bicep CLI is not available here).</summary>
public sealed partial class MainTemplateTests
{
    private static readonly string Bicep = BicepTemplate.Read("main.bicep");
    private static readonly IReadOnlyList<BicepDeclaration> Declarations = BicepTemplate.Declarations(Bicep);

    [Fact]
    public void The_template_declares_every_resource_the_service_needs()
    {
        var types = Declarations.Select(d => d.ResourceType).ToHashSet(StringComparer.Ordinal);

        Assert.Superset(
            new HashSet<string>(StringComparer.Ordinal)
            {
                "Microsoft.Storage/storageAccounts",
                "Microsoft.Storage/storageAccounts/blobServices",
                "Microsoft.Storage/storageAccounts/blobServices/containers",
                "Microsoft.DBforPostgreSQL/flexibleServers",
                "Microsoft.DBforPostgreSQL/flexibleServers/databases",
                "Microsoft.KeyVault/vaults",
                "Microsoft.KeyVault/vaults/keys",
                "Microsoft.ManagedIdentity/userAssignedIdentities",
                "Microsoft.Authorization/roleAssignments",
                "Microsoft.OperationalInsights/workspaces",
                "Microsoft.App/managedEnvironments",
                "Microsoft.App/containerApps",
                "storage-lifecycle.bicep",
            },
            types);
    }

    [Fact]
    public void The_storage_account_refuses_shared_key_public_access_old_tls_and_plain_http()
    {
        var storage = Single("Microsoft.Storage/storageAccounts");

        Assert.Equal("false", storage.Property("allowSharedKeyAccess"));
        Assert.Equal("false", storage.Property("allowBlobPublicAccess"));
        Assert.Equal("'TLS1_2'", storage.Property("minimumTlsVersion"));
        Assert.Equal("true", storage.Property("supportsHttpsTrafficOnly"));
        Assert.Equal("'None'", Single("Microsoft.Storage/storageAccounts/blobServices/containers").Property("publicAccess"));
        Assert.DoesNotContain("listKeys", storage.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("AccountKey=", Bicep, StringComparison.Ordinal);
    }

    [Fact]
    public void Blob_soft_delete_is_set_and_explained_with_respect_to_crypto_shredding()
    {
        var blobService = Single("Microsoft.Storage/storageAccounts/blobServices");

        Assert.Contains("deleteRetentionPolicy", blobService.Body, StringComparison.Ordinal);
        Assert.Equal("false", blobService.Property("isVersioningEnabled"));
        Assert.Contains("crypto-shredding", Bicep, StringComparison.Ordinal);
    }

    [Fact]
    public void The_lifecycle_backstop_module_deletes_after_four_days_in_the_image_container()
    {
        var lifecycle = Single("storage-lifecycle.bicep");

        Assert.Equal("module", lifecycle.Kind);
        Assert.Equal("4", lifecycle.Property("deleteAfterDays"));
        Assert.Equal("container.name", lifecycle.Property("containerName"));
        Assert.Equal("storage.name", lifecycle.Property("storageAccountName"));
    }

    [Fact]
    public void Role_assignments_are_scoped_to_the_container_and_to_the_key_and_nothing_wider()
    {
        var assignments = Declarations.Where(d => d.ResourceType == "Microsoft.Authorization/roleAssignments").ToList();
        var scopes = assignments.Select(a => a.Property("scope") ?? "(resource group)").ToList();
        var scopeTypes = scopes.Select(s => Declarations.SingleOrDefault(d => d.Symbol == s)?.ResourceType ?? s).Order(StringComparer.Ordinal).ToList();

        Assert.Equal(["Microsoft.KeyVault/vaults/keys", "Microsoft.Storage/storageAccounts/blobServices/containers"], scopeTypes);
        Assert.All(assignments, a => Assert.Equal("identity.properties.principalId", a.Property("principalId")));
        var roles = assignments.ToDictionary(a => a.Property("scope")!, a => RoleId().Match(a.Property("roleDefinitionId")!).Value);
        Assert.Equal("ba92f5b4-2d11-453d-a403-e96b0029c9fe", roles["container"]); // Storage Blob Data Contributor
        Assert.Equal("e147488a-f6f5-4113-8e2d-b22465e65bf6", roles["kek"]); // Key Vault Crypto Service Encryption User: get, wrapKey, unwrapKey
        Assert.DoesNotContain("targetScope = 'subscription'", Bicep, StringComparison.Ordinal);
    }

    [Fact]
    public void Key_vault_uses_rbac_and_purge_protection_and_holds_an_rsa_key_for_wrapping_only()
    {
        var vault = Single("Microsoft.KeyVault/vaults");
        var key = Single("Microsoft.KeyVault/vaults/keys");

        Assert.Equal("true", vault.Property("enableRbacAuthorization"));
        Assert.Equal("true", vault.Property("enablePurgeProtection"));
        Assert.Equal("'RSA'", key.Property("kty"));
        Assert.Matches(WrapOnlyKeyOps(), key.Body);
    }

    [Fact]
    public void The_container_app_runs_two_or_more_replicas_with_liveness_and_readiness_probes()
    {
        var app = Single("Microsoft.App/containerApps");

        Assert.True(int.Parse(app.Property("minReplicas")!, CultureInfo.InvariantCulture) >= 2, "minReplicas must be at least 2.");
        Assert.Equal("maxReplicas", app.Property("maxReplicas"));
        Assert.Matches(Probe("Liveness", "/health/live"), app.Body);
        Assert.Matches(Probe("Readiness", "/health/ready"), app.Body);
        Assert.Contains("'${identity.id}'", app.Body, StringComparison.Ordinal);
    }

    [Fact]
    public void The_container_app_is_configured_through_secure_image_variables_with_secrets_by_reference()
    {
        foreach (var name in new[] { "SecureImage__Blobs__ServiceUri", "SecureImage__Keys__KeyVault__KeyUri", "SecureImage__Catalog__Provider", "AZURE_CLIENT_ID" })
        {
            Assert.Contains($"name: '{name}'", Bicep, StringComparison.Ordinal);
        }

        Assert.Contains("{ name: 'SecureImage__Catalog__ConnectionString', secretRef: 'catalog-connection-string' }", Bicep, StringComparison.Ordinal);
        Assert.Contains("{ name: 'SecureImage__Keys__SubjectHashKey', secretRef: 'subject-hash-key' }", Bicep, StringComparison.Ordinal);
        Assert.Matches(SecureParam("postgresAdminPassword"), Bicep);
        Assert.Matches(SecureParam("linkKey"), Bicep);
        Assert.Matches(SecureParam("subjectHashKey"), Bicep);
    }

    [Fact]
    public void The_container_app_trusts_its_ingress_forwarded_headers_and_takes_https_only()
    {
        var app = Single("Microsoft.App/containerApps");

        Assert.Contains("{ name: 'SecureImage__ForwardedHeaders__TrustAllProxies', value: 'true' }", Bicep, StringComparison.Ordinal);
        Assert.Contains("env: concat(baseEnv,", app.Body, StringComparison.Ordinal);
        Assert.Equal("false", app.Property("allowInsecure"));
    }

    private static BicepDeclaration Single(string type) => Assert.Single(Declarations, d => d.ResourceType == type);

    private static Regex Probe(string type, string path) =>
        new($@"type: '{type}'\s+httpGet: \{{\s+path: '{Regex.Escape(path)}'\s+port: 8080", RegexOptions.None, TimeSpan.FromSeconds(1));

    private static Regex SecureParam(string name) =>
        new($@"@secure\(\)\s+param {name} string\r?\n", RegexOptions.None, TimeSpan.FromSeconds(1));

    [GeneratedRegex(@"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")]
    private static partial Regex RoleId();

    [GeneratedRegex(@"keyOps: \[\s+'wrapKey'\s+'unwrapKey'\s+\]")]
    private static partial Regex WrapOnlyKeyOps();
}
