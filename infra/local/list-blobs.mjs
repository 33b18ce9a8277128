// Lists a container's blob names with the official @azure/storage-blob client, as a JSON array on
// stdout: a view of the container through a client in another language that no code of ours wraps.
// Usage: AZURE_STORAGE_CONNECTION_STRING=... node infra/local/list-blobs.mjs CONTAINER
// (the connection string comes from the environment so that its key never shows in a process list).
import { BlobServiceClient } from "@azure/storage-blob";

const container = process.argv[2];
const connectionString = process.env.AZURE_STORAGE_CONNECTION_STRING;
if (!container || !connectionString) {
  console.error("usage: AZURE_STORAGE_CONNECTION_STRING=... node list-blobs.mjs CONTAINER");
  process.exit(2);
}

const client = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(container);
const names = [];
for await (const blob of client.listBlobsFlat()) {
  names.push(blob.name);
}
console.log(JSON.stringify(names));
