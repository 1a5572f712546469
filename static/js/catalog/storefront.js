/** The creator's storefront dressing: avatar and banner straight to the store, and links. */

import { api } from "../api.js";
import { send } from "./uploads.js";

const ME = "/api/v1/me/storefront";

/** Presign, send with progress (`onProgress(sent, total)`), then have the server check the image. */
export async function uploadImage(slot, file, onProgress = () => {}) {
  const out = await api(`${ME}/images/${slot}`, { method: "POST", body: { content_type: file.type, size: file.size } });
  const form = new FormData();
  for (const [name, value] of Object.entries(out.post.fields)) form.append(name, value);
  form.append("file", file);
  await send("POST", out.post.url, form, (loaded) => onProgress(Math.min(loaded, file.size), file.size));
  return api(`${ME}/images/${slot}`, { method: "PUT", body: { key: out.key } });
}

export const removeImage = (slot) => api(`${ME}/images/${slot}`, { method: "DELETE" });
export const loadDressing = () => api(ME);
export const saveLinks = (links) => api(ME, { method: "PATCH", body: { links } });

/** "Label https://address" per line; a line that is only an address is labelled by its host. */
export function parseLinks(text) {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const at = line.lastIndexOf(" ");
      const url = at < 0 ? line : line.slice(at + 1);
      let label = at < 0 ? "" : line.slice(0, at).trim();
      if (!label) {
        try {
          label = new URL(url).host;
        } catch {
          label = url.slice(0, 40);
        }
      }
      return { label, url };
    });
}

export const formatLinks = (links) => links.map(({ label, url }) => `${label} ${url}`).join("\n");
