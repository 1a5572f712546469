/** A listing's public page: cover, audio demo with its waveform, description, files to download. */

import { ApiError, api, describeError } from "../api.js";
import { formatPrice, formatSize } from "../catalog/uploads.js";
import { flash, mountLayout } from "../layout.js";

const KINDS = {
  preset: "Preset", preset_bank: "Preset bank", sample_pack: "Sample pack", project_template: "Project template",
  midi_pack: "MIDI pack", wavetable: "Wavetables", other: "Pack",
};
// Demos larger than this stream without a waveform (decoding them in the page would be slow).
const WAVEFORM_MAX_BYTES = 30 * 1024 * 1024;
const id = new URLSearchParams(window.location.search).get("id");

async function link(fileId) {
  return api(`/api/v1/listings/${id}/files/${fileId}/download`);
}

async function drawWaveform(url, canvas) {
  const data = await (await fetch(url)).arrayBuffer();
  const audio = await new OfflineAudioContext(1, 1, 44100).decodeAudioData(data);
  const samples = audio.getChannelData(0);
  const ctx = canvas.getContext("2d");
  const { width, height } = canvas;
  const step = Math.max(1, Math.floor(samples.length / width));
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = "#5b5bd6";
  for (let x = 0; x < width; x++) {
    let peak = 0;
    for (let i = x * step; i < Math.min((x + 1) * step, samples.length); i++) peak = Math.max(peak, Math.abs(samples[i]));
    const h = Math.max(1, peak * height);
    ctx.fillRect(x, (height - h) / 2, 1, h);
  }
  canvas.dataset.drawn = "true";
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

  if (listing.cover_file) {
    const cover = document.getElementById("cover");
    cover.src = (await link(listing.cover_file)).url;
    cover.alt = `Cover of ${listing.title}`;
    cover.hidden = false;
  }
  const demo = files.find(([, f]) => f.id === listing.demo_file)?.[1];
  if (demo) {
    const url = (await link(demo.id)).url;
    const player = document.getElementById("player");
    player.src = url;
    document.getElementById("demo").hidden = false;
    const canvas = document.getElementById("waveform");
    canvas.addEventListener("click", (event) => {
      if (player.duration) player.currentTime = (event.offsetX / canvas.clientWidth) * player.duration;
      player.play();
    });
    if (demo.size <= WAVEFORM_MAX_BYTES) drawWaveform(url, canvas).catch(() => (canvas.hidden = true));
  }
}

await mountLayout();
document.getElementById("loading").hidden = true;
try {
  await show(await api(`/api/v1/listings/${id}`));
} catch (err) {
  flash(err instanceof ApiError && err.status === 404 ? "This listing does not exist or is not public." : describeError(err));
}
