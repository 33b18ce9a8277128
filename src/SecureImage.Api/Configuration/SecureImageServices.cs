using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Options;
using SecureImage.Api.Features.Health;
using SecureImage.Api.Features.Kakao;
using SecureImage.Api.Features.Links;
using SecureImage.Api.Jobs;
using SecureImage.Api.Problems;
using SecureImage.Api.Security;
using SecureImage.Core.Admin;
using SecureImage.Core.Blobs;
using SecureImage.Core.Catalog;
using SecureImage.Core.Crypto;
using SecureImage.Core.Dashboard;
using SecureImage.Core.Imaging;
using SecureImage.Core.Ingestion;
using SecureImage.Core.Kakao;
using SecureImage.Core.Links;
using SecureImage.Core.Retention;
using Azure.Core;
using Azure.Identity;
using SecureImage.Storage.AzureBlob;
using SecureImage.Storage.FileSystem;
using SecureImage.Storage.KeyVault;
using SecureImage.Storage.Postgres;
using SecureImage.Storage.Sqlite;

using SecureImage.Api.Features.Previews;

namespace SecureImage.Api.Configuration;

internal static class SecureImageServices
{
    /// <summary>Binds and validates every option, then wires the ports to the configured adapters.</summary>
    public static WebApplicationBuilder AddSecureImage(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var root = builder.Configuration.GetSection(SecureImageSections.Root);
        var isDevelopment = builder.Environment.IsDevelopment();

        services.AddOptions<StorageRootOptions>().Bind(root).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<CatalogOptions>().Bind(root.GetSection(CatalogOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<BlobsOptions>().Bind(root.GetSection(BlobsOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<RetentionOptions>().Bind(root.GetSection(RetentionOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<LinksOptions>().Bind(root.GetSection(LinksOptions.Section)).ValidateOnStart();
        services.AddOptions<LimitsOptions>().Bind(root.GetSection(LimitsOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<KeysOptions>().Bind(root.GetSection(KeysOptions.Section));
        services.AddOptions<ForwardedHeadersSettings>().Bind(root.GetSection(ForwardedHeadersSettings.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ForwardedHeadersSettings>, ValidateForwardedHeadersSettings>();
        services.AddSingleton<IValidateOptions<LinksOptions>, ValidateLinksOptions>();
        services.AddSingleton<IValidateOptions<RetentionOptions>, ValidateRetentionOptions>();
        services.AddSingleton<IValidateOptions<LimitsOptions>, ValidateUploadTimeout>();
        services.AddOptions<SocketTransportOptions>().Configure<IOptions<LimitsOptions>>(
            (transport, limits) => transport.MaxReadBufferSize = limits.Value.RequestReadAheadBytes);
        services.AddSingleton<IValidateOptions<BlobsOptions>, ValidateStorageProviders>();
        services.AddSingleton<IValidateOptions<CatalogOptions>, ValidateCatalogOptions>();

        services.TryAddTimeProvider();

        // Graceful shutdown: on SIGTERM, in-flight uploads get this long to finish (Container Apps waits 40 s).
        services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));

        // Keys: loaded (or, in Development only, generated) once; resolving them at start-up fails fast.
        services.AddSingleton(sp => KeyMaterial.Load(
            sp.GetRequiredService<IOptions<KeysOptions>>().Value,
            sp.GetRequiredService<IOptions<StorageRootOptions>>().Value.DataDirectory,
            isDevelopment));
        services.AddSingleton(sp => new LinkSigner(sp.GetRequiredService<KeyMaterial>().LinkRing));
        services.AddSingleton(sp => new SubjectHasher(sp.GetRequiredService<KeyMaterial>().SubjectHashKey));
        services.AddSingleton<IKeyEncryptionKey>(sp => CreateKeyEncryptionKey(sp));
        services.AddSingleton<IWrappedKeyStore>(sp => (IWrappedKeyStore)sp.GetRequiredService<IImageCatalog>());
        services.AddSingleton<KeyRewrapper>();

        // Bots: configured by SHA-256 of their keys; the dev bot exists in Development only.
        services.AddSingleton(sp => new BotRegistry(
            sp.GetRequiredService<IConfiguration>().GetSection($"{SecureImageSections.Root}:Bots").GetChildren()
                .ToDictionary(s => s.Key, s => new BotOptionsView(s["ApiKeySha256"] ?? ""), StringComparer.Ordinal),
            isDevelopment));

        services.AddSingleton<IImageCatalog>(sp => CreateCatalog(sp));
        services.AddSingleton<IRetentionCatalog>(sp => (IRetentionCatalog)sp.GetRequiredService<IImageCatalog>());
        services.AddSingleton<IDashboardQueries>(sp => (IDashboardQueries)sp.GetRequiredService<IImageCatalog>());
        services.AddSingleton<IBlobStore>(sp => CreateBlobStore(sp));
        services.AddSingleton<IImageSanitizer, ContainerImageSanitizer>();
        services.AddSingleton(sp =>
        {
            var limits = sp.GetRequiredService<IOptions<LimitsOptions>>().Value;
            return new ImageIngestionOptions
            {
                Limits = new ImageLimits(limits.MaxPixels, limits.MaxSidePixels, limits.MaxFrames),
                RetentionPeriod = sp.GetRequiredService<IOptions<RetentionOptions>>().Value.Period,
                UploadTimeout = limits.UploadTimeout,
            };
        });
        services.AddSingleton<ImageIngestion>();
        services.AddSingleton<ImageEraser>();
        services.AddSingleton<LinkIssuer>();
        services.AddSingleton<StorageInitializer>();
        services.AddHostedService(sp => sp.GetRequiredService<StorageInitializer>());

        // One data-protection key ring for every instance, in the catalog, sealed under the KEK. Registered after the
        // storage initializer, so the library's own start-up read of the ring finds the catalog migrated.
        services.PersistKeysToCatalog(CreateDataProtectionKeyRepository);
        services.AddSecureImageJobs(root);
        services.AddSecureImagePreviews(root);
        services.AddSecureImageTelemetry(builder.Configuration);
        services.AddKakaoSkill(root);

        services.AddAuthentication(ApiKeyDefaults.Scheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyDefaults.Scheme, null)
            .AddAdminSession()
            .AddAdminOidc(root.GetSection(AdminOptions.Section));
        services.AddAuthorizationBuilder()
            .AddPolicy(ApiKeyDefaults.BotPolicy, policy => policy.AddAuthenticationSchemes(ApiKeyDefaults.Scheme).RequireClaim(ApiKeyDefaults.BotClaim))
            .AddAdminPolicies();
        services.AddAdminDashboard(builder.Configuration, isDevelopment);
        services.AddSingleton<IAdminSessionStore>(sp => CreateAdminSessionStore(sp));

        services.AddProblemDetails(options => options.CustomizeProblemDetails = FrameworkProblems.UseStableTypes);
        services.AddSingleton<IProblemDetailsWriter, AnyAcceptProblemWriter>(); // after the framework's writer: used when it declines
        builder.AddKestrelProblems();
        services.AddExceptionHandler<ProblemExceptionHandler>();
        services.AddSecureImageHealthChecks();
        services.AddOpenApi();
        return builder;
    }

    /// <summary>
    /// The dashboard's admins (password hashes from SecureImage:Admins, checked at start-up; the dev admin
    /// in Development only) and anti-forgery for its forms and POSTs.
    /// </summary>
    private static void AddAdminDashboard(this IServiceCollection services, IConfiguration configuration, bool isDevelopment)
    {
        services.AddSingleton(_ => new AdminAccounts(
            configuration.GetSection($"{SecureImageSections.Root}:Admins").GetChildren()
                .ToDictionary(s => s.Key, s => (s["PasswordHash"] ?? "", s["Role"]), StringComparer.Ordinal),
            isDevelopment));
        services.AddHostedService<AdminAccountsCheck>();
        services.AddAdminIdentity(configuration.GetSection($"{SecureImageSections.Root}:{AdminOptions.Section}"));
        services.AddAntiforgery(options =>
        {
            options.HeaderName = AdminDefaults.AntiforgeryHeader;
            options.FormFieldName = AdminDefaults.AntiforgeryField;
            options.Cookie.Name = AdminDefaults.AntiforgeryCookieName;
            options.Cookie.Path = AdminDefaults.PagePath;
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.Cookie.HttpOnly = true;
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        });
    }

    private static void TryAddTimeProvider(this IServiceCollection services)
    {
        if (!services.Any(d => d.ServiceType == typeof(TimeProvider)))
        {
            services.AddSingleton(TimeProvider.System);
        }
    }

    /// <summary>The Key Vault KEK when SecureImage:Keys:KeyVault:KeyUri is set, otherwise the local Kek ring (the embedded default).</summary>
    private static IKeyEncryptionKey CreateKeyEncryptionKey(IServiceProvider sp)
    {
        var keys = sp.GetRequiredService<KeyMaterial>();
        if (sp.GetRequiredService<IOptions<KeysOptions>>().Value.KeyVault.KeyUri is { } keyUri)
        {
            try
            {
                return new KeyVaultKeyEncryptionKey(new KeyVaultKeyEncryptionKeyOptions { KeyUri = keyUri, Credential = new DefaultAzureCredential() });
            }
            catch (ArgumentException ex)
            {
                throw new KeyConfigurationException(ex.Message, ex);
            }
        }

        return new LocalKeyEncryptionKey(keys.KekRing ?? throw new KeyConfigurationException("SecureImage:Keys:Kek is missing."));
    }

    private static IImageCatalog CreateCatalog(IServiceProvider sp)
    {
        var options = sp.GetRequiredService<IOptions<CatalogOptions>>().Value;
        return options.Provider switch
        {
            "Sqlite" => new SqliteImageCatalog(SqliteOptions(sp, options)),
            "Postgres" => new PostgresImageCatalog(
                new PostgresCatalogOptions { ConnectionString = options.ConnectionString! },
                sp.GetRequiredService<ILogger<PostgresImageCatalog>>()),
            _ => throw new OptionsValidationException(nameof(CatalogOptions), typeof(CatalogOptions), [$"SecureImage:Catalog:Provider '{options.Provider}' is not available in this build."]),
        };
    }

    private static SqliteCatalogOptions SqliteOptions(IServiceProvider sp, CatalogOptions options) => new()
    {
        ConnectionString = options.ConnectionString
            ?? $"Data Source={Path.Combine(Path.GetFullPath(sp.GetRequiredService<IOptions<StorageRootOptions>>().Value.DataDirectory), "catalog.db")}",
    };

    /// <summary>
    /// The Kakao skill: options (validated at start-up), the safe fetcher, the durable fetch queue in the
    /// catalog's database, and the worker that drains it. The worker is registered after
    /// <see cref="StorageInitializer"/>, so the queue's migration has run before it first looks.
    /// </summary>
    private static void AddKakaoSkill(this IServiceCollection services, IConfigurationSection root)
    {
        services.AddOptions<KakaoOptions>().Bind(root.GetSection(KakaoOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<KakaoOptions>, ValidateKakaoOptions>();
        services.AddSingleton<IValidateOptions<KakaoOptions>, ValidateKakaoPreviewLinks>();
        services.AddSingleton<KakaoPreviewLinks>();
        services.AddSingleton<IKakaoHostResolver, DnsKakaoHostResolver>();
        services.AddSingleton<IKakaoFetchQueue>(sp => CreateKakaoFetchQueue(sp));
        services.AddSingleton<KakaoHttp>();
        services.AddSingleton<KakaoImageFetcher>();
        services.AddSingleton<KakaoRequestTracker>();
        services.AddSingleton<KakaoFetchSignal>();
        services.AddSingleton<KakaoCallbackSignal>();
        services.AddSingleton<KakaoFetchProcessor>();
        services.AddSingleton<KakaoCallbacks>();
        services.AddSingleton<KakaoSkill>();
        services.AddHostedService(sp => sp.GetRequiredService<KakaoCallbacks>());
        services.AddHostedService<KakaoFetchWorker>();
    }

    /// <summary>Admin sessions in the catalog's database (its migrator creates the table), on the catalog's pool for PostgreSQL.</summary>
    private static IAdminSessionStore CreateAdminSessionStore(IServiceProvider sp)
    {
        var options = sp.GetRequiredService<IOptions<CatalogOptions>>().Value;
        return options.Provider switch
        {
            "Sqlite" => new SqliteAdminSessionStore(SqliteOptions(sp, options)),
            "Postgres" => new PostgresAdminSessionStore((PostgresImageCatalog)sp.GetRequiredService<IImageCatalog>()),
            _ => throw new OptionsValidationException(nameof(CatalogOptions), typeof(CatalogOptions), [$"Admin sessions are not available for SecureImage:Catalog:Provider '{options.Provider}'."]),
        };
    }

    /// <summary>The data-protection key ring in the catalog's database (its migrator creates the table), on the catalog's pool for PostgreSQL.</summary>
    private static IXmlRepository CreateDataProtectionKeyRepository(IServiceProvider sp)
    {
        var options = sp.GetRequiredService<IOptions<CatalogOptions>>().Value;
        return options.Provider switch
        {
            "Sqlite" => new SqliteDataProtectionKeyRepository(SqliteOptions(sp, options)),
            "Postgres" => new PostgresDataProtectionKeyRepository((PostgresImageCatalog)sp.GetRequiredService<IImageCatalog>()),
            _ => throw new OptionsValidationException(nameof(CatalogOptions), typeof(CatalogOptions), [$"Data-protection keys are not available for SecureImage:Catalog:Provider '{options.Provider}'."]),
        };
    }

    private static IKakaoFetchQueue CreateKakaoFetchQueue(IServiceProvider sp)
    {
        var options = sp.GetRequiredService<IOptions<CatalogOptions>>().Value;
        return options.Provider switch
        {
            "Sqlite" => new SqliteKakaoFetchQueue(SqliteOptions(sp, options)),

            // Same database and connection pool as the catalog, whose migrator creates the queue's table.
            "Postgres" => new PostgresKakaoFetchQueue((PostgresImageCatalog)sp.GetRequiredService<IImageCatalog>()),

            // Refuse to start rather than accept Kakao requests whose fetches could not be made durable.
            _ => throw new OptionsValidationException(nameof(CatalogOptions), typeof(CatalogOptions), [$"The Kakao fetch queue is not available for SecureImage:Catalog:Provider '{options.Provider}' yet."]),
        };
    }

    /// <summary>
    /// Entra ID for the blob store when no Shared Key is configured: the named user-assigned identity, or
    /// whatever DefaultAzureCredential finds (managed identity in Azure, developer sign-in locally).
    /// </summary>
    private static TokenCredential BlobCredential(BlobsOptions options) => options.ManagedIdentityClientId is { } clientId
        ? new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId))
        : new DefaultAzureCredential();

    private static IBlobStore CreateBlobStore(IServiceProvider sp)
    {
        var options = sp.GetRequiredService<IOptions<BlobsOptions>>().Value;
        var dataDirectory = sp.GetRequiredService<IOptions<StorageRootOptions>>().Value.DataDirectory;
        return options.Provider switch
        {
            "FileSystem" => new FileSystemBlobStore(new FileSystemBlobStoreOptions
            {
                RootPath = options.Path ?? Path.Combine(Path.GetFullPath(dataDirectory), "blobs"),
            }),
            "AzureBlob" => new AzureBlobStore(options.ToAzureBlobStoreOptions(string.IsNullOrWhiteSpace(options.ConnectionString) ? BlobCredential(options) : null)),
            _ => throw new OptionsValidationException(nameof(BlobsOptions), typeof(BlobsOptions), [$"SecureImage:Blobs:Provider '{options.Provider}' is not available in this build."]),
        };
    }
}

/// <summary>
/// Before the server accepts requests: keys loaded, catalog migrated, blob container present, job store and
/// recurring jobs in place. Runs once:
/// Program runs it before the host starts (so a failure is one line, <see cref="StartupRefusal"/>), and the
/// host's start then finds it done; in-memory test hosts reach it through the host only.
/// </summary>
internal sealed class StorageInitializer(KeyMaterial keys, IKeyEncryptionKey kek, BotRegistry bots, IImageCatalog catalog, IBlobStore blobs, JobsInitializer jobs) : IHostedService
{
    private readonly Lock _gate = new();
    private Task? _initialized;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return _initialized ??= InitializeAsync(cancellationToken);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task InitializeAsync(CancellationToken cancellationToken)
    {
        _ = keys;
        _ = kek;
        _ = bots;
        await catalog.MigrateAsync(cancellationToken);
        await blobs.CreateIfNotExistsAsync(cancellationToken);
        await jobs.InitializeAsync(cancellationToken);
    }
}
