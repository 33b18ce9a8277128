// Backstop deletion of image blobs by Azure Storage lifecycle management.
//
// The retention job is the primary mechanism: it erases every image at 3 days (Retention:Period),
// deletes its blob and shreds its wrapped data key, and records the erasure. Lifecycle management
// runs about once a day and may lag by a day or more, so it can only be a backstop: it deletes any
// blob older than 4 days that the job somehow missed. Even such a blob is already unreadable once
// its catalog row is erased, because its data key is gone.

@description('Name of the existing storage account that holds the image container.')
param storageAccountName string

@description('Container that holds the encrypted image blobs (SecureImage:Blobs:Container).')
param containerName string = 'images'

@description('Days after creation when the backstop deletes a blob. Must stay above the 3-day retention period.')
@minValue(4)
param deleteAfterDays int = 4

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'secureimage-backstop-delete'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${containerName}/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterCreationGreaterThan: deleteAfterDays
                }
              }
            }
          }
        }
      ]
    }
  }
}

output ruleName string = 'secureimage-backstop-delete'
