using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Mvc.Testing.Handlers;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using SecureImage.Api.Security;
using SecureImage.Api.Tests.Faults;
using SecureImage.Api.Tests.TestSupport;
using SecureImage.Core.Crypto;

namespace SecureImage.Api.Tests.Admin;

/// <summary>
/// One data-protection key ring for every instance, in the catalog and sealed under the KEK: a form, an anti-forgery
/// token or anything else protected by one replica is accepted by another and after a restart, and the stored ring
/// holds no key in the clear.
/// </summary>
public sealed class DataProtectionKeyRingTests : IDisposable
{
    private const string Purpose = "SecureImage.Tests.DataProtectionKeyRing";
    private readonly List<string> _directories = [];

    /// <summary>
    /// Two processes, each with a home folder of its own (as two replicas on two machines or containers have), on one
    /// catalog. The sign-in form and the session's token come from the first; the POSTs go to the second.
    /// </summary>
    [Fact]
    public async Task A_form_and_a_dashboard_post_from_one_replica_are_accepted_by_another_on_its_own_machine()
    {
        var settings = new Dictionary<string, string?>(AdminSession.OfficerSettings());
        foreach (var (key, value) in SecureImageFactory.NewKeySettings())
        {
            settings[key] = value;
        }

        await using var first = new ServiceProcess(settings);
        settings["SecureImage:DataDirectory"] = first.DataDirectory;
        await using var second = new ServiceProcess(settings);
        await first.StartAsync(new Dictionary<string, string> { ["HOME"] = first.Root });
        await second.StartAsync(new Dictionary<string, string> { ["HOME"] = second.Root });

        // One browser: cookies are per host name, not per port, so both replicas see the same cookies.
        using var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false };
        using var toFirst = new HttpClient(handler, disposeHandler: false) { BaseAddress = first.BaseAddress };
        using var toSecond = new HttpClient(handler, disposeHandler: false) { BaseAddress = second.BaseAddress };

        var signIn = await toSecond.PostAsync("/admin/sign-in", SignInForm(await AdminSession.SignInTokenAsync(toFirst)));
        Assert.True(signIn.StatusCode == HttpStatusCode.Redirect, $"sign-in answered {(int)signIn.StatusCode}: {await signIn.Content.ReadAsStringAsync()}");
        Assert.Equal("/admin", signIn.Headers.Location?.OriginalString);

        var release = await PostReleaseAsync(toSecond, await toFirst.CsrfTokenAsync());
        await release.AssertProblemAsync(HttpStatusCode.NotFound, "not-found"); // past the anti-forgery check: no such hold

        // Nothing was kept per machine: the library's default folder under each home was never made.
        Assert.False(Directory.Exists(Path.Combine(first.Root, ".aspnet")) || Directory.Exists(Path.Combine(second.Root, ".aspnet")));
    }

    [Fact]
    public async Task A_value_protected_by_one_instance_is_unprotected_by_another_and_after_both_restarted()
    {
        var settings = SharedCatalogSettings();
        string secret;
        using (var first = new SecureImageFactory("Testing", settings))
        using (var second = new SecureImageFactory("Testing", settings))
        {
            secret = Protector(first).Protect("a value only this service reads");
            Assert.Equal("a value only this service reads", Protector(second).Unprotect(secret));
        }

        using var restarted = new SecureImageFactory("Testing", settings);
        Assert.Equal("a value only this service reads", Protector(restarted).Unprotect(secret));
        Assert.Single(await StoredKeysAsync(settings)); // one ring: the second and the restarted instance made no key of their own

        // The keys are the catalog's, not the machine's: an instance with the same KEK on another catalog has other keys.
        using var elsewhere = new SecureImageFactory("Testing", SharedCatalogSettings(settings));
        Assert.ThrowsAny<System.Security.Cryptography.CryptographicException>(() => Protector(elsewhere).Unprotect(secret));
    }

    [Fact]
    public async Task An_anti_forgery_token_and_cookie_from_one_instance_are_accepted_by_another()
    {
        var settings = SharedCatalogSettings(AdminSession.OfficerSettings());
        using var first = new SecureImageFactory("Testing", settings);
        using var second = new SecureImageFactory("Testing", settings);

        await AssertPostsCrossInstancesAsync(first, second);
    }

    [Fact]
    public async Task The_stored_key_ring_holds_no_key_material_in_the_clear()
    {
        var settings = SharedCatalogSettings();
        using var factory = new SecureImageFactory("Testing", settings);
        Assert.Equal("x", Protector(factory).Unprotect(Protector(factory).Protect("x")));

        var stored = Assert.Single(await StoredKeysAsync(settings));
        var masterKey = AssertSealedAndOpen(factory, stored);

        // Neither the master key's base64 nor its bytes are anywhere in the catalog's files (database, log).
        var keyBytes = Convert.FromBase64String(masterKey);
        SqliteConnection.ClearAllPools();
        foreach (var file in Directory.EnumerateFiles(settings["SecureImage:DataDirectory"]!, "catalog.db*"))
        {
            var bytes = await File.ReadAllBytesAsync(file);
            Assert.True(bytes.AsSpan().IndexOf(Encoding.ASCII.GetBytes(masterKey)) < 0, $"{Path.GetFileName(file)} holds the master key in base64");
            Assert.True(bytes.AsSpan().IndexOf(keyBytes) < 0, $"{Path.GetFileName(file)} holds the master key's bytes");
        }
    }

    [Fact]
    public async Task After_the_kek_that_sealed_the_ring_is_retired_the_service_makes_a_new_key_and_refuses_only_old_payloads()
    {
        var settings = SharedCatalogSettings(SecureImageFactory.NewKeySettings(kekId: "kek1"));
        string old;
        using (var before = new SecureImageFactory("Testing", settings))
        {
            old = Protector(before).Protect("issued before the rotation");
        }

        // kek2 active, kek1 kept: the ring still opens.
        var rotated = new Dictionary<string, string?>(settings) { ["SecureImage:Keys:Kek:ActiveKeyId"] = "kek2", ["SecureImage:Keys:Kek:Keys:kek2"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)) };
        using (var during = new SecureImageFactory("Testing", rotated))
        {
            Assert.Equal("issued before the rotation", Protector(during).Unprotect(old));
        }

        // kek1 retired: its sealed key cannot be opened, so the library makes a new one (sealed under kek2).
        rotated.Remove("SecureImage:Keys:Kek:Keys:kek1");
        using var after = new SecureImageFactory("Testing", rotated);
        Assert.ThrowsAny<System.Security.Cryptography.CryptographicException>(() => Protector(after).Unprotect(old));
        Assert.Equal("issued after", Protector(after).Unprotect(Protector(after).Protect("issued after")));
        var stored = await StoredKeysAsync(settings);
        Assert.Equal(2, stored.Count);
        Assert.Equal("kek2", (string?)XElement.Parse(stored[1]).Descendants().Single(e => e.Name.LocalName == "sealedByKek").Attribute("kekId"));
    }

    [Fact]
    public async Task With_key_vault_as_the_kek_the_ring_is_sealed_by_key_vault_and_an_outage_answers_503()
    {
        await using var vault = await FakeKeyVault.StartAsync();
        var settings = SharedCatalogSettings(AdminSession.OfficerSettings());
        void UseVault(IServiceCollection services)
        {
            services.RemoveAll<IKeyEncryptionKey>();
            services.AddSingleton<IKeyEncryptionKey>(vault.NewKek());
        }

        using (var first = new SecureImageFactory("Testing", settings, services: UseVault))
        using (var second = new SecureImageFactory("Testing", settings, services: UseVault))
        {
            Assert.Equal("x", Protector(second).Unprotect(Protector(first).Protect("x")));
            var stored = Assert.Single(await StoredKeysAsync(settings));
            Assert.StartsWith($"kv.{FakeKeyVault.KeyName}.", (string?)XElement.Parse(stored).Descendants().Single(e => e.Name.LocalName == "sealedByKek").Attribute("kekId"), StringComparison.Ordinal);
            AssertSealedAndOpen(first, stored);
        }

        // An instance starting while Key Vault refuses cannot open the ring: the dashboard's pages answer 503, never 500.
        vault.Forbid = true;
        using var starting = new SecureImageFactory("Testing", settings, services: UseVault);
        await (await starting.CreateAnonymousClient().GetAsync("/admin/sign-in")).AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "service-unavailable");
    }

    [Fact]
    public async Task Instances_on_postgres_share_one_sealed_key_ring_that_outlives_them()
    {
        await using var backend = await ProductionBackend.CreateAsync();
        var settings = AdminSession.OfficerSettings();
        var first = backend.NewInstance(settings);
        var second = backend.NewInstance(settings);

        await AssertPostsCrossInstancesAsync(first, second);
        var secret = Protector(first).Protect("a value only this service reads");
        Assert.Equal("a value only this service reads", Protector(second).Unprotect(secret));

        var stored = (string)(await backend.Database.ScalarAsync("SELECT string_agg(xml, '' ORDER BY id) FROM data_protection_keys;"))!;
        Assert.Equal(1L, await backend.CountAsync("FROM data_protection_keys"));
        AssertSealedAndOpen(first, stored);

        await first.DisposeAsync();
        await second.DisposeAsync();
        var restarted = backend.NewInstance(settings);
        Assert.Equal("a value only this service reads", Protector(restarted).Unprotect(secret));
    }

    /// <summary>A sign-in form from <paramref name="first"/> posted to <paramref name="second"/>, then a dashboard POST the same way, in one browser.</summary>
    private static async Task AssertPostsCrossInstancesAsync(SecureImageFactory first, SecureImageFactory second)
    {
        var cookies = new CookieContainer();
        using var toFirst = first.CreateDefaultClient(new CookieContainerHandler(cookies));
        using var toSecond = second.CreateDefaultClient(new CookieContainerHandler(cookies));

        var signIn = await toSecond.PostAsync("/admin/sign-in", SignInForm(await AdminSession.SignInTokenAsync(toFirst)));
        Assert.Equal((HttpStatusCode.Redirect, "/admin"), (signIn.StatusCode, signIn.Headers.Location?.OriginalString));

        var release = await PostReleaseAsync(toSecond, await toFirst.CsrfTokenAsync());
        await release.AssertProblemAsync(HttpStatusCode.NotFound, "not-found");
    }

    /// <summary>
    /// The stored ring as the library wrote it, with its secret sealed by <see cref="KekXmlEncryptor"/>; opens the seal
    /// with the instance's own decryptor (as the library does) and returns the master key's value, which must not be in
    /// <paramref name="stored"/>.
    /// </summary>
    private static string AssertSealedAndOpen(SecureImageFactory factory, string stored)
    {
        Assert.DoesNotContain("masterKey", stored, StringComparison.Ordinal);
        var key = XElement.Parse(stored);
        var encrypted = Assert.Single(key.Descendants(), e => e.Name.LocalName == "encryptedSecret");
        Assert.Equal(typeof(KekXmlDecryptor), Type.GetType((string)encrypted.Attribute("decryptorType")!));
        var sealedElement = Assert.Single(encrypted.Elements());
        Assert.Equal("sealedByKek", sealedElement.Name.LocalName);

        var opened = new KekXmlDecryptor(factory.Services).Decrypt(sealedElement);
        var value = opened.DescendantsAndSelf().Single(e => e.Name.LocalName == "masterKey").Elements().Single(e => e.Name.LocalName == "value").Value;
        Assert.True(Convert.FromBase64String(value).Length >= 32);
        Assert.DoesNotContain(value, stored, StringComparison.Ordinal);
        return value;
    }

    private static IDataProtector Protector(SecureImageFactory factory) =>
        factory.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector(Purpose);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        foreach (var directory in _directories)
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
                // A file still held open by a host's pool; the OS temp cleaner takes it.
            }
        }
    }

    /// <summary>
    /// <paramref name="settings"/> on a new catalog folder of their own, which every instance started with them shares, with
    /// fresh keys (KEK, links, subjects) unless <paramref name="settings"/> brings the deployment's.
    /// </summary>
    private Dictionary<string, string?> SharedCatalogSettings(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>());
        if (!all.ContainsKey("SecureImage:Keys:Kek:ActiveKeyId"))
        {
            foreach (var (key, value) in SecureImageFactory.NewKeySettings())
            {
                all[key] = value;
            }
        }

        _directories.Add(Directory.CreateTempSubdirectory("secureimage-keyring-").FullName);
        all["SecureImage:DataDirectory"] = _directories[^1];
        return all;
    }

    /// <summary>The key table's rows as stored, read straight from the database file.</summary>
    private static async Task<List<string>> StoredKeysAsync(IReadOnlyDictionary<string, string?> settings)
    {
        var path = Path.Combine(settings["SecureImage:DataDirectory"]!, "catalog.db");
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        await connection.OpenAsync();
        await using var select = connection.CreateCommand();
        select.CommandText = "SELECT xml FROM data_protection_keys ORDER BY id;";
        await using var reader = await select.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }

    private static FormUrlEncodedContent SignInForm(string token) => new(new Dictionary<string, string>
    {
        [AdminDefaults.AntiforgeryField] = token,
        ["username"] = AdminSession.Officer,
        ["password"] = AdminSession.OfficerPassword,
    });

    private static Task<HttpResponseMessage> PostReleaseAsync(HttpClient client, string csrfToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/admin/api/holds/{Guid.NewGuid()}/release")
        {
            Content = JsonContent.Create(new { reason = "checked with the requester" }),
        };
        request.Headers.Add(AdminDefaults.AntiforgeryHeader, csrfToken);
        return client.SendAsync(request);
    }
}
