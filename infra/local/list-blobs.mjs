// Lists a container's blobs with the official @azure/storage-blob client, as JSON on stdout: a view
// of the container through a client in another language that no code of ours wraps.
// Usage: AZURE_STORAGE_CONNECTION_STRING=... node infra/local/list-blobs.mjs CONTAINER [--heads]
// Without --heads: an array of blob names. With --heads: an array of {name, length, head}, head being
// the hex of the blob's first 5 bytes as this client downloads them (an envelope starts "SIEV", 0x01).
// (The connection string comes from the environment so that its key never shows in a process list.)
import { BlobServiceClient } from "@azure/storage-blob";

const container = process.argv[2];
const heads = process.argv[3] === "--heads";
const connectionString = process.env.AZURE_STORAGE_CONNECTION_STRING;
if (!container || !connectionString || (process.argv.length > 3 && !heads)) {
  console.error("usage: AZURE_STORAGE_CONNECTION_STRING=... node list-blobs.mjs CONTAINER [--heads]");
  process.exit(2);
}

const client = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(container);
const blobs = [];
for await (const blob of client.listBlobsFlat()) {
  if (!heads) {
    blobs.push(blob.name);
    continue;
  }

  const length = blob.properties.contentLength ?? 0;
  const head = length === 0 ? Buffer.alloc(0) : await client.getBlobClient(blob.name).downloadToBuffer(0, Math.min(5, length));
  blobs.push({ name: blob.name, length, head: head.toString("hex") });
}
console.log(JSON.stringify(blobs));
