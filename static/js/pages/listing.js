/** A listing's public page: cover, audio demo with its waveform, description, files to download. */

import { ApiError, api, describeError } from "../api.js";
import { formatSize } from "../catalog/uploads.js";
import { flash, mountLayout } from "../layout.js";
import { formatPrice } from "../money.js";
import { showTorrents } from "../torrents/pack.js";

const KINDS = {
  preset: "Preset", preset_bank: "Preset bank", sample_pack: "Sample pack", project_template: "Project template",
  midi_pack: "MIDI pack", wavetable: "Wavetables", other: "Pack",
};
// Before the server's peaks exist, demos larger than this show no waveform (decoding is slow).
const WAVEFORM_MAX_BYTES = 30 * 1024 * 1024;
const id = new URLSearchParams(window.location.search).get("id");

async function link(fileId) {
  return api(`/api/v1/listings/${id}/files/${fileId}/download`);
}

/** What the server derived from a file (thumbnails, peaks, preview), or null while it is processing. */
async function media(fileId) {
  try {
    return await api(`/api/v1/listings/${id}/files/${fileId}/media`);
  } catch {
    return null;
  }
}

/** Draw [[min, max], …] peaks (-1..1) across the canvas. */
function drawPeaks(peaks, canvas, source) {
  const ctx = canvas.getContext("2d");
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = "#5b5bd6";
  for (let x = 0; x < width; x++) {
    const [low, high] = peaks[Math.floor((x * peaks.length) / width)] ?? [0, 0];
    const top = ((1 - high) / 2) * height;
    ctx.fillRect(x, top, 1, Math.max(1, ((high - low) / 2) * height));
  }
  canvas.dataset.drawn = source;
}

/** Without server peaks yet (just uploaded): decode the demo in the page. */
async function decodePeaks(url, points) {
  const data = await (await fetch(url)).arrayBuffer();
  const samples = (await new OfflineAudioContext(1, 1, 44100).decodeAudioData(data)).getChannelData(0);
  const step = Math.max(1, Math.floor(samples.length / points));
  const peaks = [];
  for (let p = 0; p < points; p++) {
    let low = 0;
    let high = 0;
    for (let i = p * step; i < Math.min((p + 1) * step, samples.length); i++) {
      low = Math.min(low, samples[i]);
      high = Math.max(high, samples[i]);
    }
    peaks.push([low, high]);
  }
  return peaks;
}

function fileRow(version, file) {
  const tr = document.createElement("tr");
  for (const text of [version.label, file.name, formatSize(file.size)]) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.append(td);
  }
  const td = document.createElement("td");
  const button = Object.assign(document.createElement("button"), { type: "button", className: "button button-ghost", textContent: "Download" });
  button.dataset.fileId = file.id;
  button.addEventListener("click", async () => {
    const error = document.getElementById("download-error");
    error.hidden = true;
    button.disabled = true;
    try {
      // A short-lived URL straight to the store; the file keeps its original name.
      window.location.assign((await link(file.id)).url);
    } catch (err) {
      error.textContent = err instanceof ApiError && err.status === 401 ? "Log in to download this file." : describeError(err);
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
  td.append(button);
  tr.append(td);
  return tr;
}

async function show(listing) {
  document.title = `${listing.title} · Echoel`;
  document.getElementById("kind").textContent = KINDS[listing.kind] ?? listing.kind;
  document.getElementById("title").textContent = listing.title;
  const creator = document.getElementById("creator");
  creator.textContent = `@${listing.creator}`;
  creator.href = `/creator.html?handle=${encodeURIComponent(listing.creator)}`;
  document.getElementById("price").textContent = formatPrice(listing.price);
  const facts = [listing.synth, listing.daw, listing.genre, listing.bpm ? `${listing.bpm} BPM` : "", listing.musical_key, ...listing.tags.map((t) => `#${t}`)];
  document.getElementById("facts").textContent = facts.filter(Boolean).join(" · ");
  // Rendered from Markdown and sanitised (nh3 allow-list) by the server.
  document.getElementById("description").innerHTML = listing.description_html;
  const files = listing.versions.flatMap((v) => v.files.map((f) => [v, f]));
  document.getElementById("files").replaceChildren(...files.filter(([, f]) => f.role === "file").map(([v, f]) => fileRow(v, f)));
  document.getElementById("listing").hidden = false;
  showTorrents(listing.id, document.getElementById("torrents"), document.getElementById("torrent-list"));

  if (listing.cover_file) {
    const cover = document.getElementById("cover");
    const derived = await media(listing.cover_file);
    const thumbs = derived?.thumbnails ?? [];
    // WebP thumbnails sized for the screen when processing made them; the original otherwise.
    if (thumbs.length) {
      cover.srcset = thumbs.map((t) => `${t.url} ${t.width}w`).join(", ");
      cover.sizes = "(max-width: 700px) 100vw, 640px";
      cover.src = thumbs[0].url;
    } else {
      cover.src = (await link(listing.cover_file)).url;
    }
    cover.alt = `Cover of ${listing.title}`;
    cover.hidden = false;
  }
  const demo = files.find(([, f]) => f.id === listing.demo_file)?.[1];
  if (demo) {
    const derived = await media(demo.id);
    const url = derived?.preview_url ?? (await link(demo.id)).url;
    const player = document.getElementById("player");
    player.src = url;
    document.getElementById("demo").hidden = false;
    const canvas = document.getElementById("waveform");
    canvas.addEventListener("click", (event) => {
      if (player.duration) player.currentTime = (event.offsetX / canvas.clientWidth) * player.duration;
      player.play();
    });
    if (derived?.peaks.length) drawPeaks(derived.peaks, canvas, "server");
    else if (demo.size <= WAVEFORM_MAX_BYTES) {
      decodePeaks(url, canvas.width)
        .then((peaks) => drawPeaks(peaks, canvas, "page"))
        .catch(() => (canvas.hidden = true));
    }
  }
}

await mountLayout();
document.getElementById("loading").hidden = true;
try {
  await show(await api(`/api/v1/listings/${id}`));
} catch (err) {
  flash(err instanceof ApiError && err.status === 404 ? "This listing does not exist or is not public." : describeError(err));
}
