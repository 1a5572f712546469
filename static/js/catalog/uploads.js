/**
 * Uploads straight to object storage, with progress, and resume after a reload.
 *
 * Small files: one form POST under the server's signed policy. Large files: multipart, each
 * part PUT to its own presigned URL. The upload id is remembered in localStorage (keyed by
 * listing, version, name, size and modification time), so dropping the same file again after a
 * reload asks the server which parts are stored and sends only the rest.
 */

import { ApiError, api } from "../api.js";

const RESUME_PREFIX = "echoel.upload.";

/** The role a file plays when the page is told to guess: images are covers, audio is a demo. */
export function guessRole(file, wanted) {
  if (wanted !== "auto") return wanted;
  if (["image/png", "image/jpeg", "image/webp"].includes(file.type)) return "cover";
  if (file.type.startsWith("audio/")) return "demo";
  return "file";
}

function resumeKey(listingId, version, file) {
  return `${RESUME_PREFIX}${listingId}|${version}|${file.name}|${file.size}|${file.lastModified}`;
}

/** XHR rather than fetch: only XHR reports upload progress. */
export function send(method, url, body, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () =>
      xhr.status >= 200 && xhr.status < 300
        ? resolve(xhr)
        : reject(new Error(`The storage refused the upload (HTTP ${xhr.status}).`));
    xhr.onerror = () => reject(new Error("The connection to the storage failed; drop the file again to resume."));
    xhr.send(body);
  });
}

async function sendParts(file, upload, parts, alreadyDone, onProgress) {
  let done = alreadyDone;
  for (const part of parts) {
    const start = (part.number - 1) * upload.part_size;
    const blob = file.slice(start, Math.min(start + upload.part_size, file.size));
    await send("PUT", part.url, blob, (loaded) => onProgress(done + loaded));
    done += blob.size;
    onProgress(done);
  }
}

/**
 * Upload `file` to a listing's version. `onProgress(bytesSent, total)` is called as it goes.
 * Resolves to the completed upload (with its file), or throws an Error/ApiError saying why.
 */
export async function uploadFile(file, { listingId, version, role, onProgress = () => {} }) {
  const total = file.size;
  const report = (sent) => onProgress(Math.min(sent, total), total);
  const key = resumeKey(listingId, version, file);
  const saved = localStorage.getItem(key);
  let uploadId = null;
  if (saved) {
    try {
      const state = await api(`/api/v1/uploads/${saved}/parts`);
      const stored = state.stored.reduce((sum, p) => sum + p.size, 0);
      report(stored);
      await sendParts(file, { part_size: state.part_size }, state.missing, stored, report);
      uploadId = saved;
    } catch (err) {
      // The upload expired or finished elsewhere: start afresh.
      if (!(err instanceof ApiError)) throw err;
      localStorage.removeItem(key);
    }
  }
  if (!uploadId) {
    const contentType = file.type || "application/octet-stream";
    const upload = await api("/api/v1/uploads", {
      method: "POST",
      body: { listing_id: listingId, version, file_name: file.name, size: total, content_type: contentType, role },
    });
    uploadId = upload.id;
    if (upload.post) {
      const form = new FormData();
      for (const [name, value] of Object.entries(upload.post.fields)) form.append(name, value);
      form.append("file", file);
      await send("POST", upload.post.url, form, report);
    } else {
      localStorage.setItem(key, upload.id);
      await sendParts(file, upload, upload.parts, 0, report);
    }
  }
  const done = await api(`/api/v1/uploads/${uploadId}/complete`, { method: "POST" });
  localStorage.removeItem(key);
  report(total);
  return done;
}

/** Every file in a drop, folders walked recursively (names keep their folder path). */
export async function droppedFiles(dataTransfer) {
  const entries = [...dataTransfer.items].map((item) => item.webkitGetAsEntry?.()).filter(Boolean);
  if (entries.length === 0) return [...dataTransfer.files];
  const out = [];
  const walk = async (entry, prefix) => {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      out.push(prefix ? new File([file], `${prefix}${file.name}`, { type: file.type, lastModified: file.lastModified }) : file);
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (batch.length === 0) break;
        for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
      }
    }
  };
  for (const entry of entries) await walk(entry, "");
  return out;
}

/** "12.3 MB" */
export function formatSize(bytes) {
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
