/**
 * The session page: the lobby (your sessions, open one), joining by invite link, and the room
 * (participants, chat, files and presets, audio, the shared panel).
 */

import { api, describeError } from "../api.js";
import { flash, mountLayout } from "../layout.js";
import { receiveFile, sendFile } from "./files.js";
import { Mesh } from "./mesh.js";
import { Panel } from "./panel.js";
import { audioConstraints } from "./sdp.js";
import { Signaling } from "./signaling.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(window.location.search);

function li(...children) {
  const item = document.createElement("li");
  item.append(...children);
  return item;
}

function link(href, text) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  return a;
}

async function lobby() {
  $("lobby").hidden = false;
  const sessions = await api("/api/v1/sessions");
  $("my-sessions").replaceChildren(
    ...sessions.map((s) => li(link(`/session.html?id=${encodeURIComponent(s.id)}`, s.title), ` · ${s.members.length} of ${s.max_participants}`)),
  );
  $("create-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      const created = await api("/api/v1/sessions", {
        method: "POST",
        body: {
          title: form.get("title"),
          max_participants: Number(form.get("max_participants")),
          expires_in_minutes: Number(form.get("expires_in_minutes")),
        },
      });
      window.location.assign(`/session.html?id=${created.id}`);
    } catch (err) {
      flash(describeError(err));
    }
  });
}

/** Everything about one room, once the visitor is a member. */
async function room(sessionId, account) {
  const session = await api(`/api/v1/sessions/${sessionId}`);
  const { iceServers } = await api(`/api/v1/sessions/${sessionId}/ice`);
  $("room").hidden = false;
  $("room-title").textContent = session.title;
  document.title = `${session.title} · Echoel`;
  const isHost = session.host_id === account.id;
  $("host-tools").hidden = !isHost;

  const signaling = new Signaling(sessionId);
  const mesh = new Mesh(signaling, iceServers);
  const panel = new Panel();
  const people = new Map(); // peer id -> handle

  const renderPeople = () => {
    const items = [li(`${account.handle} (you)`)];
    for (const [peer, handle] of people) {
      const item = li(handle);
      item.dataset.peer = peer;
      items.push(item);
    }
    $("participants").replaceChildren(...items);
  };
  renderPeople();

  const log = (...parts) => {
    $("chat-log").append(li(...parts));
    $("chat-log").lastElementChild.scrollIntoView({ block: "nearest" });
  };

  signaling.addEventListener("state", ({ detail }) => {
    $("conn-state").dataset.state = detail;
    $("conn-state").textContent = detail;
  });
  signaling.addEventListener("welcome", () => {
    // A new socket is a new peer id: the others drop the old connections and we meet again.
    for (const id of [...mesh.peers.keys()]) mesh.drop(id);
    people.clear();
    renderPeople();
  });
  signaling.addEventListener("closed", ({ detail }) => flash(detail || "You left the session."));
  signaling.addEventListener("message", async ({ detail: msg }) => {
    if (msg.type === "join" || msg.type === "presence") {
      people.set(msg.from, msg.handle);
      renderPeople();
    } else if (msg.type === "leave") {
      people.delete(msg.from);
      renderPeople();
    } else if (msg.type === "chat") {
      const who = document.createElement("strong");
      who.textContent = `${msg.handle}: `;
      log(who, msg.text);
      return;
    } else if (msg.type === "error") {
      flash(msg.detail);
      return;
    }
    await mesh.handle(msg);
  });

  // --- panel ------------------------------------------------------------------------------
  const showPanel = (state) => {
    if (document.activeElement !== $("bpm")) $("bpm").value = state.bpm ?? "";
    if (document.activeElement !== $("key")) $("key").value = state.key;
    if (document.activeElement !== $("notes")) $("notes").value = state.notes;
  };
  panel.addEventListener("change", ({ detail }) => showPanel(detail));
  $("panel").addEventListener("input", () => {
    const bpm = Number.parseInt($("bpm").value, 10);
    const changes = { bpm: Number.isFinite(bpm) ? bpm : null, key: $("key").value, notes: $("notes").value };
    mesh.broadcast(panel.edit(signaling.peer, changes));
  });
  $("panel").addEventListener("submit", (event) => event.preventDefault());
  mesh.addEventListener("peer-open", ({ detail: id }) => {
    if (panel.state.version > 0) mesh.sendTo(id, { kind: "panel", state: panel.state });
  });
  mesh.addEventListener("meta", ({ detail: { from, data } }) => {
    if (data.kind === "panel") panel.merge(data.state);
    else if (data.kind === "preset" && typeof data.id === "string") showPreset(people.get(from) ?? "someone", data.id);
  });

  // --- presets ----------------------------------------------------------------------------
  function showPreset(handle, id) {
    const href = `/listing.html?id=${encodeURIComponent(id)}`;
    const a = link(href, "open the preset");
    a.className = "shared-preset";
    log(`${handle} shared a preset: `, a);
  }
  $("preset-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const raw = $("preset-id").value.trim();
    let id = raw;
    try {
      id = new URL(raw, window.location.origin).searchParams.get("id") || raw;
    } catch {
      /* a bare id */
    }
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) return flash("That is not a listing id or link.");
    mesh.broadcast({ kind: "preset", id });
    showPreset("you", id);
    $("preset-id").value = "";
  });

  // --- files ------------------------------------------------------------------------------
  mesh.addEventListener("datachannel", async ({ detail: { from, channel } }) => {
    if (channel.label !== "file") return;
    const row = li("receiving…");
    $("transfers").append(row);
    try {
      const file = await receiveFile(channel, (share, header) => {
        row.textContent = `receiving ${header.name}: ${Math.round(share * 100)}%`;
      });
      const a = link(URL.createObjectURL(file.blob), file.name);
      a.download = file.name;
      a.dataset.sha256 = file.sha256;
      a.className = file.ok ? "received-file" : "damaged-file";
      row.replaceChildren(`${file.ok ? "received" : "DAMAGED"} from ${people.get(from) ?? "a peer"}: `, a);
    } catch (err) {
      row.textContent = `transfer failed: ${err.message}`;
    }
  });
  $("file-input").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    for (const peer of mesh.peers.values()) {
      const row = li(`sending ${file.name} to ${people.get(peer.id) ?? "a peer"}…`);
      $("transfers").append(row);
      sendFile(peer.pc, file, (share) => {
        row.textContent = `sending ${file.name}: ${Math.round(share * 100)}%`;
      })
        .then((verdict) => {
          row.textContent = verdict.ok ? `sent ${file.name} (checksum confirmed)` : `${file.name} arrived damaged`;
          row.className = verdict.ok ? "sent-file" : "damaged-file";
        })
        .catch((err) => {
          row.textContent = `sending ${file.name} failed: ${err.message}`;
        });
    }
    event.target.value = "";
  });

  // --- chat -------------------------------------------------------------------------------
  $("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("chat-text").value.trim();
    if (!text) return;
    if (!signaling.send({ type: "chat", text })) return flash("Not connected; try again in a moment.");
    $("chat-text").value = "";
  });

  // --- audio ------------------------------------------------------------------------------
  mesh.addEventListener("track", ({ detail: { from, stream } }) => {
    let el = document.querySelector(`audio[data-peer="${from}"]`);
    if (!el) {
      el = document.createElement("audio");
      el.autoplay = true;
      el.dataset.peer = from;
      $("remote-audio").append(el);
    }
    el.srcObject = stream;
  });
  mesh.addEventListener("peer-closed", ({ detail: id }) => document.querySelector(`audio[data-peer="${id}"]`)?.remove());
  let muted = false;
  $("audio-btn").addEventListener("click", async () => {
    try {
      const stream = await navigator.mediaDevices.getUserMedia(audioConstraints($("music-mode").checked));
      mesh.setStream(stream);
      $("audio-btn").disabled = true;
      $("music-mode").disabled = true;
      $("mute-btn").disabled = false;
    } catch (err) {
      flash(`No microphone: ${err.message}`);
    }
  });
  $("mute-btn").addEventListener("click", () => {
    muted = !muted;
    mesh.setMuted(muted);
    $("mute-btn").textContent = muted ? "Unmute" : "Mute";
    $("mute-btn").setAttribute("aria-pressed", String(muted));
  });

  // --- host tools -------------------------------------------------------------------------
  $("invite-btn").addEventListener("click", async () => {
    try {
      const invite = await api(`/api/v1/sessions/${sessionId}/invites`, { method: "POST", body: {} });
      $("invite-out").textContent = invite.url;
      await navigator.clipboard?.writeText(invite.url).catch(() => {});
    } catch (err) {
      flash(describeError(err));
    }
  });
  let locked = session.locked;
  const showLock = () => ($("lock-btn").textContent = locked ? "Unlock room" : "Lock room");
  showLock();
  $("lock-btn").addEventListener("click", async () => {
    try {
      locked = (await api(`/api/v1/sessions/${sessionId}`, { method: "PATCH", body: { locked: !locked } })).locked;
      showLock();
    } catch (err) {
      flash(describeError(err));
    }
  });

  // A network change: the browser says it is back online; ICE needs new candidates.
  window.addEventListener("online", () => mesh.restartAll());
  window.addEventListener("pagehide", () => {
    signaling.close();
    mesh.close();
  });
  await signaling.connect();
  // For tests and debugging in the console.
  window.echoelSession = { signaling, mesh, panel };
}

const account = await mountLayout();
$("loading").hidden = true;
if (!account) {
  window.location.assign(`/login.html?next=${encodeURIComponent(window.location.pathname + window.location.search)}`);
} else {
  try {
    const invite = params.get("invite");
    if (invite) {
      const joined = await api("/api/v1/sessions/join", { method: "POST", body: { token: invite } });
      window.history.replaceState(null, "", `/session.html?id=${joined.id}`);
      await room(joined.id, account);
    } else if (params.get("id")) {
      await room(params.get("id"), account);
    } else {
      await lobby();
    }
  } catch (err) {
    flash(describeError(err));
  }
}
