/**
 * A full mesh of RTCPeerConnections, one per other participant, negotiated over signaling with
 * the "perfect negotiation" pattern (either side may offer; the polite side yields on glare),
 * except that the first offer is always the impolite side's.
 *
 * Each connection carries a negotiated "meta" data channel (id 0: panel updates, shared presets),
 * one data channel per file transfer, and the local audio track when audio is on. A connection
 * whose ICE fails, or stays disconnected for a few seconds, restarts ICE (a network change).
 * The terminal peer (`echoel collab`, aiortc) follows the same protocol, described in the
 * docstring of app/collab/peer.py: change both together.
 *
 * Events: "peer-open" / "peer-closed" (detail: peer id), "meta" (detail: {from, data}),
 * "track" (detail: {from, stream}), "datachannel" (detail: {from, channel}), "state" (detail: {from, state}).
 */

import { musicSdp } from "./sdp.js";

const RESTART_AFTER_MS = 3000;
const CONNECT_RETRY_MS = 8000;

export class Mesh extends EventTarget {
  constructor(signaling, iceServers) {
    super();
    this.signaling = signaling;
    this.iceServers = iceServers;
    this.peers = new Map();
    this.stream = null;
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /** A signaling message that concerns peers (join, presence, leave, offer, answer, ice-candidate). */
  async handle(msg) {
    const from = msg.from;
    if (!from || from === this.signaling.peer) return;
    if (msg.type === "leave") return this.drop(from);
    if (msg.type === "join" || msg.type === "presence") {
      this.ensure(from);
      return;
    }
    const peer = this.ensure(from);
    // One message at a time per peer, in arrival order: event listeners do not wait for each
    // other, and an offer's handling must finish before the next description or candidate.
    peer.queue = peer.queue.then(() => this.process(peer, msg));
    return peer.queue;
  }

  async process(peer, msg) {
    try {
      if (msg.type === "offer" || msg.type === "answer") await this.onDescription(peer, msg);
      else if (msg.type === "ice-candidate") await this.onCandidate(peer, msg);
    } catch (err) {
      console.warn("negotiation with", peer.id, "failed:", err);
    }
  }

  ensure(id) {
    let peer = this.peers.get(id);
    if (peer) return peer;
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    // Peer ids are random: comparing them picks one polite side per pair, the same on both ends.
    peer = {
      id,
      pc,
      polite: this.signaling.peer > id,
      ignoreOffer: false,
      restartTimer: null,
      watchdog: null,
      queue: Promise.resolve(),
    };
    this.peers.set(id, peer);
    peer.meta = pc.createDataChannel("meta", { negotiated: true, id: 0, ordered: true });
    peer.meta.addEventListener("open", () => {
      clearTimeout(peer.watchdog);
      this.emit("peer-open", id);
    });
    this.watch(peer);
    peer.meta.addEventListener("message", (event) => {
      try {
        this.emit("meta", { from: id, data: JSON.parse(event.data) });
      } catch {
        /* not JSON: ignore */
      }
    });
    // Offers take their turn in the peer's queue too. Created beside an incoming offer's
    // handling, an offer could be set after that exchange had finished: a stale offer that left
    // both pages "stable" with ICE never starting (seen in the session tests, about 1 run in 5).
    pc.addEventListener("negotiationneeded", () => {
      peer.queue = peer.queue.then(() => this.offer(peer));
    });
    pc.addEventListener("icecandidate", ({ candidate }) => {
      this.signaling.send({ type: "ice-candidate", to: id, candidate: candidate ? candidate.toJSON() : null });
    });
    pc.addEventListener("track", ({ streams, track }) => {
      this.emit("track", { from: id, stream: streams[0] || new MediaStream([track]) });
    });
    pc.addEventListener("datachannel", ({ channel }) => this.emit("datachannel", { from: id, channel }));
    pc.addEventListener("iceconnectionstatechange", () => this.watchIce(peer));
    pc.addEventListener("connectionstatechange", () => this.emit("state", { from: id, state: pc.connectionState }));
    if (this.stream) for (const track of this.stream.getTracks()) pc.addTrack(track, this.stream);
    return peer;
  }

  async offer(peer) {
    // The first offer is the impolite side's. When both offered at once, the polite page rolled
    // its offer back mid-gathering and Chromium then never gathered candidates for that
    // connection again, ICE restarts included (both pages "stable", ICE "new": about 1 test run
    // in 6). Later offers (audio added, ICE restarts) may still collide; rollback is safe there.
    if (peer.polite && !peer.pc.remoteDescription) return;
    try {
      const offer = await peer.pc.createOffer();
      if (peer.pc.signalingState !== "stable") return;
      await peer.pc.setLocalDescription({ type: "offer", sdp: musicSdp(offer.sdp) });
      this.signaling.send({ type: "offer", to: peer.id, sdp: peer.pc.localDescription.sdp });
    } catch (err) {
      console.warn("offer failed:", err);
    }
  }

  async onDescription(peer, msg) {
    const pc = peer.pc;
    // Offers run in the same queue, so one of ours is out exactly when the state is not stable.
    const collision = msg.type === "offer" && pc.signalingState !== "stable";
    peer.ignoreOffer = !peer.polite && collision;
    if (peer.ignoreOffer) return;
    await pc.setRemoteDescription({ type: msg.type, sdp: musicSdp(msg.sdp) });
    if (msg.type === "offer") {
      const answer = await pc.createAnswer();
      await pc.setLocalDescription({ type: "answer", sdp: musicSdp(answer.sdp) });
      this.signaling.send({ type: "answer", to: peer.id, sdp: pc.localDescription.sdp });
    }
  }

  async onCandidate(peer, msg) {
    try {
      await peer.pc.addIceCandidate(msg.candidate || null);
    } catch (err) {
      if (!peer.ignoreOffer) throw err;
    }
  }

  /**
   * If the connection is not up after a while (an offer or candidates lost on a busy machine or a
   * flaky link), the impolite side negotiates again; only one side does, so the retries never
   * collide. Re-armed until the meta channel opens or the peer is dropped.
   */
  watch(peer) {
    peer.watchdog = setTimeout(() => {
      if (this.peers.get(peer.id) !== peer || peer.meta.readyState === "open") return;
      if (!peer.polite) {
        if (peer.pc.signalingState === "have-local-offer") {
          this.signaling.send({ type: "offer", to: peer.id, sdp: peer.pc.localDescription.sdp });
        } else {
          peer.pc.restartIce();
        }
      }
      this.watch(peer);
    }, CONNECT_RETRY_MS);
  }

  watchIce(peer) {
    const state = peer.pc.iceConnectionState;
    clearTimeout(peer.restartTimer);
    if (state === "failed") {
      peer.pc.restartIce();
    } else if (state === "disconnected") {
      // Often recovers by itself (a brief Wi-Fi hiccup); if not, new candidates for the new network.
      peer.restartTimer = setTimeout(() => {
        if (peer.pc.iceConnectionState === "disconnected") peer.pc.restartIce();
      }, RESTART_AFTER_MS);
    }
  }

  /** After signaling reconnected: restart ICE everywhere, since the network may have changed. */
  restartAll() {
    for (const peer of this.peers.values()) {
      if (peer.pc.iceConnectionState !== "connected" && peer.pc.iceConnectionState !== "completed") peer.pc.restartIce();
    }
  }

  drop(id) {
    const peer = this.peers.get(id);
    if (!peer) return;
    clearTimeout(peer.restartTimer);
    clearTimeout(peer.watchdog);
    peer.pc.close();
    this.peers.delete(id);
    this.emit("peer-closed", id);
  }

  /** Send to every open meta channel. */
  broadcast(data) {
    const text = JSON.stringify(data);
    for (const peer of this.peers.values()) if (peer.meta.readyState === "open") peer.meta.send(text);
  }

  sendTo(id, data) {
    const peer = this.peers.get(id);
    if (peer?.meta.readyState === "open") peer.meta.send(JSON.stringify(data));
  }

  /** Start sending ``stream``'s audio to everyone (renegotiates each connection). */
  setStream(stream) {
    this.stream = stream;
    for (const peer of this.peers.values()) {
      for (const track of stream.getTracks()) peer.pc.addTrack(track, stream);
    }
  }

  setMuted(muted) {
    for (const track of this.stream?.getAudioTracks() ?? []) track.enabled = !muted;
  }

  close() {
    for (const id of [...this.peers.keys()]) this.drop(id);
  }
}
