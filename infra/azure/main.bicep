// SecureImage on Azure: storage (private, Entra ID only, lifecycle backstop), PostgreSQL Flexible
// Server, Key Vault with the key-encryption key, one user-assigned identity with the two data-plane
// roles it needs scoped to the container and to the key, Log Analytics, and a Container Apps app
// (2..N replicas, liveness and readiness probes).
//
//   az deployment group create -g <rg> -f infra/azure/main.bicep -p @main.parameters.json
//
// See README "Deploying to Azure".

targetScope = 'resourceGroup'

@description('Short prefix for resource names (lowercase letters and digits).')
@minLength(3)
@maxLength(11)
param namePrefix string = 'secimg'

param location string = resourceGroup().location

@description('Container image, e.g. myregistry.azurecr.io/secureimage:1.0.0.')
param image string

@description('Registry server to pull the image with the app identity (empty for a public image). Grant that identity AcrPull on the registry separately.')
param registryServer string = ''

@description('Most replicas Container Apps may scale out to. At least two run at all times.')
@minValue(2)
param maxReplicas int = 10

@description('CPU cores per replica (Container Apps consumption: 0.25 steps).')
param cpu string = '0.5'

@description('Memory per replica.')
param memory string = '1Gi'

@description('Blob container for the encrypted images (SecureImage:Blobs:Container).')
param containerName string = 'images'

@description('Days a deleted blob stays recoverable. Safe with crypto-shredding: see the storage account.')
@minValue(1)
@maxValue(30)
param blobSoftDeleteDays int = 7

@description('PostgreSQL Flexible Server SKU.')
param postgresSkuName string = 'Standard_B1ms'

@allowed([
  'Burstable'
  'GeneralPurpose'
  'MemoryOptimized'
])
param postgresSkuTier string = 'Burstable'

@minValue(32)
param postgresStorageGb int = 32

param postgresAdminLogin string = 'secureimage'

@secure()
param postgresAdminPassword string

@description('Name of the key-encryption key in Key Vault. At most 28 characters: the catalog records "kv.{name}.{version}" (64 characters at most).')
@maxLength(28)
param kekName string = 'secureimage-kek'

@allowed([
  2048
  3072
  4096
])
param kekSize int = 3072

@description('Id of the active link-signing key (letters, digits, - _ .).')
param linkKeyId string

@description('Base64 of 32 random bytes: the active link-signing key.')
@secure()
param linkKey string

@description('Base64 of 32 random bytes: the subject-hash key. Never rotate it without re-hashing.')
@secure()
param subjectHashKey string

@description('Bots: [{ name: "kakao", apiKeySha256: "<hex>" }].')
param bots array = []

@description('Local dashboard admins: [{ name: "officer", passwordHash: "pbkdf2-sha256$…", role: "viewer" or "operator" }]. The hashes become Container Apps secrets.')
param admins array = []

@description('OpenID Connect authority for organisation sign-in to the dashboard, e.g. https://login.microsoftonline.com/<tenant id>/v2.0; empty: none.')
param oidcAuthority string = ''

@description('The app registration\'s application (client) id; required with oidcAuthority.')
param oidcClientId string = ''

@secure()
@description('The app registration\'s client secret.')
param oidcClientSecret string = ''

@description('Text of the sign-in page\'s organisation button.')
param oidcDisplayName string = 'organisation account'

@description('Password sign-in for the local admins; false is accepted only together with oidcAuthority.')
param localAdminSignIn bool = true

@description('Public base URL of download links; defaults to the app\'s Container Apps address.')
param publicBaseUrl string = ''

param logRetentionDays int = 30

var suffix = uniqueString(resourceGroup().id, namePrefix)
var storageAccountName = take('${namePrefix}${suffix}', 24)
var keyVaultName = take('${namePrefix}-kv-${suffix}', 24)

// ---------------------------------------------------------------------------------------------
// Identity: the only principal the app runs as.
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${namePrefix}-id'
  location: location
}

// ---------------------------------------------------------------------------------------------
// Storage: no anonymous access, no Shared Key (Entra ID only), TLS 1.2, HTTPS only.
resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_ZRS'
  }
  properties: {
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    defaultToOAuthAuthentication: true
    allowCrossTenantReplication: false
    publicNetworkAccess: 'Enabled'
  }
}

// Soft delete and crypto-shredding: every blob is an envelope whose data key is wrapped by the
// Key Vault KEK and stored only in the catalog row. Erasing an image deletes its blob AND shreds
// the wrapped key in the same step, so a soft-deleted blob is ciphertext nobody can decrypt any
// more. Soft delete can therefore stay on (it protects against operator mistakes) with a short
// retention; it never extends how long an image is readable. Versioning stays off: it would keep
// overwritten copies for no benefit.
resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: blobSoftDeleteDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: blobSoftDeleteDays
    }
    isVersioningEnabled: false
  }
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: containerName
  properties: {
    publicAccess: 'None'
  }
}

// The lifecycle backstop (deletes blobs older than 4 days that the 3-day retention job missed).
module lifecycle 'storage-lifecycle.bicep' = {
  name: 'storage-lifecycle'
  params: {
    storageAccountName: storage.name
    containerName: container.name
    deleteAfterDays: 4
  }
}

// Storage Blob Data Contributor, on the container only.
resource blobRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(container.id, identity.id, 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')
  scope: container
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// ---------------------------------------------------------------------------------------------
// Key Vault: RBAC authorization, purge protection; the RSA key-encryption key.
resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enablePurgeProtection: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    publicNetworkAccess: 'Enabled'
  }
}

resource kek 'Microsoft.KeyVault/vaults/keys@2023-07-01' = {
  parent: vault
  name: kekName
  properties: {
    kty: 'RSA'
    keySize: kekSize
    keyOps: [
      'wrapKey'
      'unwrapKey'
    ]
    attributes: {
      enabled: true
    }
  }
}

// Key Vault Crypto Service Encryption User (read key metadata, wrapKey, unwrapKey), on the key only.
resource kekRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(kek.id, identity.id, 'e147488a-f6f5-4113-8e2d-b22465e65bf6')
  scope: kek
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'e147488a-f6f5-4113-8e2d-b22465e65bf6')
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL Flexible Server and the catalog database.
resource postgres 'Microsoft.DBforPostgreSQL/flexibleServers@2022-12-01' = {
  name: '${namePrefix}-pg-${suffix}'
  location: location
  sku: {
    name: postgresSkuName
    tier: postgresSkuTier
  }
  properties: {
    version: '15'
    administratorLogin: postgresAdminLogin
    administratorLoginPassword: postgresAdminPassword
    storage: {
      storageSizeGB: postgresStorageGb
    }
    backup: {
      backupRetentionDays: 7
      geoRedundantBackup: 'Disabled'
    }
    highAvailability: {
      mode: 'Disabled'
    }
  }
}

resource catalogDatabase 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2022-12-01' = {
  parent: postgres
  name: 'secureimage'
  properties: {
    charset: 'UTF8'
    collation: 'en_US.utf8'
  }
}

// Azure-internal callers only (Container Apps); use private networking for stricter isolation.
resource postgresAzureAccess 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2022-12-01' = {
  parent: postgres
  name: 'AllowAzureServices'
  properties: {
    startIpAddress: '0.0.0.0'
    endIpAddress: '0.0.0.0'
  }
}

// ---------------------------------------------------------------------------------------------
// Logs and the Container Apps environment.
resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${namePrefix}-logs'
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
  }
}

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: '${namePrefix}-env'
  location: location
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logs.properties.customerId
        sharedKey: logs.listKeys().primarySharedKey
      }
    }
  }
}

var catalogConnectionString = 'Host=${postgres.properties.fullyQualifiedDomainName};Database=${catalogDatabase.name};Username=${postgresAdminLogin};Password=${postgresAdminPassword};SSL Mode=Require'

var baseEnv = [
  { name: 'ASPNETCORE_ENVIRONMENT', value: 'Production' }
  { name: 'AZURE_CLIENT_ID', value: identity.properties.clientId }
  { name: 'SecureImage__Catalog__Provider', value: 'Postgres' }
  { name: 'SecureImage__Catalog__ConnectionString', secretRef: 'catalog-connection-string' }
  { name: 'SecureImage__Blobs__Provider', value: 'AzureBlob' }
  { name: 'SecureImage__Blobs__ServiceUri', value: storage.properties.primaryEndpoints.blob }
  { name: 'SecureImage__Blobs__Container', value: container.name }
  { name: 'SecureImage__Keys__KeyVault__KeyUri', value: kek.properties.keyUri }
  { name: 'SecureImage__Keys__Links__ActiveKeyId', value: linkKeyId }
  { name: 'SecureImage__Keys__Links__Keys__${linkKeyId}', secretRef: 'link-key' }
  { name: 'SecureImage__Keys__SubjectHashKey', secretRef: 'subject-hash-key' }
  // The ingress ends TLS and forwards plain HTTP with X-Forwarded-Proto (which it overwrites) and X-Forwarded-For (to
  // which it appends the address it saw; the service reads only that last entry). Nothing reaches the app but through
  // its ingress, whose addresses are not known in advance, so every peer is trusted: the admin cookie is then Secure, the
  // OIDC redirect_uri https and sign-in throttling sees the clients' addresses. The ingress passes the Host header on as
  // the client sent it, so X-Forwarded-Host is not read (ForwardHost off).
  { name: 'SecureImage__ForwardedHeaders__TrustAllProxies', value: 'true' }
]
var linkEnv = empty(publicBaseUrl) ? [] : [
  { name: 'SecureImage__Links__PublicBaseUrl', value: publicBaseUrl }
]
var botEnv = [for bot in bots: { name: 'SecureImage__Bots__${bot.name}__ApiKeySha256', value: bot.apiKeySha256 }]
var adminHashEnv = [for (admin, i) in admins: { name: 'SecureImage__Admins__${admin.name}__PasswordHash', secretRef: 'admin-hash-${i}' }]
var adminRoleEnv = [for admin in admins: { name: 'SecureImage__Admins__${admin.name}__Role', value: admin.role }]
var adminSecrets = [for (admin, i) in admins: { name: 'admin-hash-${i}', value: admin.passwordHash }]
var adminEnv = concat(adminHashEnv, adminRoleEnv, [
  { name: 'SecureImage__Admin__LocalSignInEnabled', value: string(localAdminSignIn) }
])
var oidcEnv = empty(oidcAuthority) ? [] : [
  { name: 'SecureImage__Admin__Oidc__Authority', value: oidcAuthority }
  { name: 'SecureImage__Admin__Oidc__ClientId', value: oidcClientId }
  { name: 'SecureImage__Admin__Oidc__ClientSecret', secretRef: 'oidc-client-secret' }
  { name: 'SecureImage__Admin__Oidc__DisplayName', value: oidcDisplayName }
]
var oidcSecrets = empty(oidcAuthority) ? [] : [
  { name: 'oidc-client-secret', value: oidcClientSecret }
]

resource app 'Microsoft.App/containerApps@2024-03-01' = {
  name: '${namePrefix}-api'
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    managedEnvironmentId: environment.id
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: {
        external: true
        targetPort: 8080
        transport: 'auto'
        allowInsecure: false
        // The OIDC round trip's correlation and nonce cookies are protected with each replica's own keys: one sign-in, one replica.
        stickySessions: {
          affinity: empty(oidcAuthority) ? 'none' : 'sticky'
        }
      }
      registries: empty(registryServer) ? [] : [
        {
          server: registryServer
          identity: identity.id
        }
      ]
      secrets: concat([
        { name: 'catalog-connection-string', value: catalogConnectionString }
        { name: 'link-key', value: linkKey }
        { name: 'subject-hash-key', value: subjectHashKey }
      ], adminSecrets, oidcSecrets)
    }
    template: {
      // Graceful shutdown: the app finishes in-flight uploads within 30 s of SIGTERM.
      terminationGracePeriodSeconds: 40
      containers: [
        {
          name: 'api'
          image: image
          resources: {
            cpu: json(cpu)
            memory: memory
          }
          env: concat(baseEnv, linkEnv, botEnv, adminEnv, oidcEnv)
          probes: [
            {
              type: 'Liveness'
              httpGet: {
                path: '/health/live'
                port: 8080
              }
              periodSeconds: 10
              failureThreshold: 3
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/health/ready'
                port: 8080
              }
              periodSeconds: 10
              failureThreshold: 3
            }
            {
              type: 'Startup'
              httpGet: {
                path: '/health/live'
                port: 8080
              }
              periodSeconds: 5
              failureThreshold: 24
            }
          ]
        }
      ]
      scale: {
        minReplicas: 2
        maxReplicas: maxReplicas
      }
    }
  }
  dependsOn: [
    blobRole
    kekRole
  ]
}

output apiUrl string = 'https://${app.properties.configuration.ingress.fqdn}'
output blobServiceUri string = storage.properties.primaryEndpoints.blob
output keyVaultUri string = vault.properties.vaultUri
output kekUri string = kek.properties.keyUri
output postgresHost string = postgres.properties.fullyQualifiedDomainName
output identityClientId string = identity.properties.clientId
output identityPrincipalId string = identity.properties.principalId
