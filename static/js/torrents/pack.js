/**
 * A listing's torrents on its page: magnet and .torrent for free packs, the buyer's own .torrent
 * for paid ones, build progress while a torrent is being made, and live swarm figures.
 */

import { ApiError, api, describeError } from "../api.js";
import { formatSize } from "../catalog/uploads.js";

const REFRESH_MS = 5000;
const BUILDING_REFRESH_MS = 1500;

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

async function saveMyTorrent(torrent, status) {
  status.textContent = "";
  try {
    const res = await api(`/api/v1/torrents/${torrent.id}/my-torrent`, { raw: true });
    const url = URL.createObjectURL(await res.blob());
    el("a", { href: url, download: `${torrent.name}.torrent` }).click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (err) {
    status.textContent =
      err instanceof ApiError && err.status === 401 ? "Log in to get your .torrent." : `${describeError(err)}`;
  }
}

function item(torrent) {
  const li = el("li", { className: "torrent" });
  li.dataset.status = torrent.status;
  li.dataset.torrentId = torrent.id;
  const facts = `${formatSize(torrent.total_size)} · ${torrent.file_count} file${torrent.file_count === 1 ? "" : "s"}`;
  li.append(el("h3", { textContent: torrent.name }), el("p", { className: "muted small", textContent: facts }));
  if (torrent.status === "building") {
    const percent = Math.round(torrent.progress * 100);
    li.append(
      el("progress", { max: 1, value: torrent.progress }),
      el("p", { className: "small", textContent: `Building the torrent… ${percent}% (hashing the files)` }),
    );
    return li;
  }
  if (torrent.status !== "ready") {
    li.append(el("p", { className: "small", textContent: `No torrent for this version: ${torrent.error || "building failed"}. Download the files over HTTP below.` }));
    return li;
  }
  const actions = el("div", { className: "button-row" });
  const status = el("p", { className: "small", role: "status" });
  if (torrent.magnet) {
    actions.append(
      el("a", { className: "button button-primary magnet", href: torrent.magnet, textContent: "Magnet link" }),
      el("a", { className: "button button-ghost", href: `/api/v1/torrents/${torrent.id}/torrent`, textContent: ".torrent file" }),
    );
  } else {
    const mine = el("button", { type: "button", className: "button button-primary my-torrent", textContent: "Your .torrent" });
    mine.addEventListener("click", () => saveMyTorrent(torrent, status));
    actions.append(mine);
  }
  actions.append(el("a", { className: "button button-ghost", href: "#files-title", textContent: "Over HTTP" }));
  const swarm = el("p", { className: "muted small swarm" });
  swarm.textContent =
    `${torrent.peers} peer${torrent.peers === 1 ? "" : "s"} connected · seeding at ${formatSize(torrent.upload_rate)}/s · ` +
    `${formatSize(torrent.p2p_bytes)} shared peer-to-peer, ${formatSize(torrent.http_bytes)} over HTTP`;
  li.append(actions, swarm);
  // The seeder keeps only recently wanted packs on its disk; one it evicted comes back from
  // storage when someone downloads it.
  if (torrent.cache === "fetching") {
    li.append(el("p", { className: "small cache", textContent: "The seeder is fetching this pack back from storage: peer-to-peer starts in a moment." }));
  } else if (torrent.cache === "evicted") {
    li.append(el("p", { className: "muted small cache", textContent: "Not seeded right now: starting a download fetches it back to the seeder." }));
  }
  li.append(status);
  return li;
}

/** What the seeder sent peer-to-peer and the web seed over HTTP, over every torrent of a listing. */
export function served(torrents) {
  return {
    p2p: torrents.reduce((n, t) => n + t.p2p_bytes, 0),
    http: torrents.reduce((n, t) => n + t.http_bytes, 0),
  };
}

/** Show the listing's torrents in `section` and keep them current; resolves after the first load. */
export async function showTorrents(listingId, section, list) {
  let timer = 0;
  const load = async () => {
    let torrents;
    try {
      torrents = await api(`/api/v1/torrents/?listing=${encodeURIComponent(listingId)}`, { auth: false });
    } catch {
      return; // the HTTP files still work; try again on the next tick
    } finally {
      clearTimeout(timer);
    }
    section.hidden = torrents.length === 0;
    // Keep a status line the user is reading (e.g. "Log in to get your .torrent").
    const said = new Map([...list.querySelectorAll(".torrent")].map((li) => [li.dataset.torrentId, li.querySelector("[role=status]")?.textContent]));
    list.replaceChildren(
      ...torrents.map((t) => {
        const li = item(t);
        const status = li.querySelector("[role=status]");
        if (status && said.get(t.id)) status.textContent = said.get(t.id);
        return li;
      }),
    );
    const building = torrents.some((t) => t.status === "building" || t.cache === "fetching");
    timer = setTimeout(load, building ? BUILDING_REFRESH_MS : REFRESH_MS);
  };
  await load();
}
