/**
 * Files over RTCDataChannel: one channel per transfer, 16 KiB messages (what every browser
 * delivers reliably), backpressure through bufferedAmountLowThreshold, and a SHA-256 check.
 *
 * Wire format: a JSON header {name, size, type, sha256}, the bytes as binary messages, then the
 * receiver answers {ok, sha256} once it has every byte. The terminal peer (`echoel collab`) speaks
 * the same format; its reference is the docstring of app/collab/peer.py: change both together.
 */

export const CHUNK = 16 * 1024;
const READ = 1024 * 1024; // bytes read from the file at a time
const HIGH = 1024 * 1024; // pause above this many buffered bytes…
const LOW = 256 * 1024; // …and resume below this

export async function sha256Hex(buffer) {
  const digest = await crypto.subtle.digest("SHA-256", buffer);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function opened(channel) {
  if (channel.readyState === "open") return Promise.resolve();
  return new Promise((resolve, reject) => {
    channel.addEventListener("open", resolve, { once: true });
    channel.addEventListener("close", () => reject(new Error("the channel closed")), { once: true });
  });
}

function drained(channel) {
  if (channel.bufferedAmount <= HIGH) return Promise.resolve();
  return new Promise((resolve) => channel.addEventListener("bufferedamountlow", resolve, { once: true }));
}

/** Send ``file`` to one peer; resolves with the receiver's verdict {ok, sha256}. */
export async function sendFile(pc, file, onProgress = () => {}) {
  const sha256 = await sha256Hex(await file.arrayBuffer());
  const channel = pc.createDataChannel("file", { ordered: true });
  channel.binaryType = "arraybuffer";
  channel.bufferedAmountLowThreshold = LOW;
  const verdict = new Promise((resolve, reject) => {
    channel.addEventListener("message", (event) => resolve(JSON.parse(event.data)), { once: true });
    channel.addEventListener("close", () => reject(new Error("the transfer was cut off")), { once: true });
  });
  await opened(channel);
  channel.send(JSON.stringify({ name: file.name, size: file.size, type: file.type, sha256 }));
  for (let offset = 0; offset < file.size; offset += READ) {
    const block = await file.slice(offset, offset + READ).arrayBuffer();
    for (let i = 0; i < block.byteLength; i += CHUNK) {
      await drained(channel);
      channel.send(block.slice(i, i + CHUNK));
    }
    onProgress(Math.min(1, (offset + block.byteLength) / file.size));
  }
  const result = await verdict;
  channel.close();
  return { ...result, sha256 };
}

/** Receive one file from a "file" channel; resolves with {name, size, blob, sha256, ok}. */
export function receiveFile(channel, onProgress = () => {}) {
  channel.binaryType = "arraybuffer";
  return new Promise((resolve, reject) => {
    let header = null;
    const parts = [];
    let got = 0;
    channel.addEventListener("message", async (event) => {
      if (header === null) {
        header = JSON.parse(event.data);
        if (header.size === 0) finish();
        return;
      }
      parts.push(event.data);
      got += event.data.byteLength;
      onProgress(got / header.size, header);
      if (got >= header.size) finish();
    });
    channel.addEventListener("close", () => {
      if (header === null || got < header.size) reject(new Error("the transfer was cut off"));
    });
    async function finish() {
      const blob = new Blob(parts, { type: header.type || "application/octet-stream" });
      const sha256 = await sha256Hex(await blob.arrayBuffer());
      const ok = sha256 === header.sha256 && blob.size === header.size;
      channel.send(JSON.stringify({ ok, sha256 }));
      resolve({ name: header.name, size: header.size, blob, sha256, ok });
    }
  });
}
