/**
 * The signaling socket: authenticate with a short-lived ticket (never a token in the URL),
 * answer the server's pings, and reconnect with backoff after a drop.
 *
 * Events (EventTarget): "message" (detail: the server's message), "state" (detail: "connecting",
 * "connected", "reconnecting", "closed"), "welcome" (detail: {peer, user_id, handle}).
 */

import { api } from "../api.js";

// Close codes after which retrying cannot help: not signed in, not a member (or removed).
const FINAL = new Set([4401, 4403]);

export class Signaling extends EventTarget {
  constructor(sessionId) {
    super();
    this.sessionId = sessionId;
    this.ws = null;
    this.peer = null;
    this.stopped = false;
    this.attempt = 0;
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  async connect() {
    this.emit("state", this.attempt ? "reconnecting" : "connecting");
    let ticket;
    try {
      ({ ticket } = await api(`/api/v1/sessions/${this.sessionId}/ticket`, { method: "POST" }));
    } catch (err) {
      if (err.status === 404 || err.status === 401) return this.finish(err.detail);
      return this.retry();
    }
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${window.location.host}/ws/sessions/${this.sessionId}`);
    this.ws = ws;
    ws.addEventListener("open", () => ws.send(JSON.stringify({ type: "auth", ticket })));
    ws.addEventListener("message", (event) => this.onMessage(event));
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      if (FINAL.has(event.code)) this.finish(event.reason || "You are not in this session any more.");
      else this.retry();
    });
  }

  onMessage(event) {
    let msg;
    try {
      msg = JSON.parse(event.data);
    } catch {
      return;
    }
    if (msg.type === "ping") {
      this.send({ type: "pong", t: msg.t });
    } else if (msg.type === "welcome") {
      this.peer = msg.peer;
      this.attempt = 0;
      this.emit("welcome", msg);
      this.emit("state", "connected");
    } else {
      this.emit("message", msg);
    }
  }

  retry() {
    if (this.stopped) return;
    this.attempt += 1;
    this.emit("state", "reconnecting");
    // 0.5 s, 1 s, 2 s … capped at 10 s, with jitter so a room does not reconnect in lockstep.
    const delay = Math.min(10_000, 500 * 2 ** (this.attempt - 1)) * (0.75 + Math.random() / 2);
    setTimeout(() => this.connect(), delay);
  }

  finish(reason) {
    this.stopped = true;
    this.emit("state", "closed");
    this.emit("closed", reason);
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(msg));
      return true;
    }
    return false;
  }

  close() {
    this.stopped = true;
    this.ws?.close(1000, "left");
  }
}
