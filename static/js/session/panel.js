/**
 * The shared session panel (BPM, key, notes), kept in sync over the peers' meta channels.
 *
 * Last writer wins: every edit bumps a version; on equal versions the higher peer id wins, so
 * all participants settle on the same state whatever order the updates arrive in.
 */

export class Panel extends EventTarget {
  constructor() {
    super();
    this.state = { bpm: null, key: "", notes: "", version: 0, by: "" };
  }

  /** A local edit: returns the message to broadcast. */
  edit(me, changes) {
    this.state = { ...this.state, ...changes, version: this.state.version + 1, by: me };
    return { kind: "panel", state: this.state };
  }

  /** A remote state: applied if it is newer; returns whether it was. */
  merge(remote) {
    if (!remote || typeof remote.version !== "number") return false;
    const newer = remote.version > this.state.version || (remote.version === this.state.version && remote.by > this.state.by);
    if (!newer) return false;
    this.state = {
      bpm: Number.isFinite(remote.bpm) ? remote.bpm : null,
      key: String(remote.key ?? "").slice(0, 16),
      notes: String(remote.notes ?? "").slice(0, 8000),
      version: remote.version,
      by: String(remote.by ?? ""),
    };
    this.dispatchEvent(new CustomEvent("change", { detail: this.state }));
    return true;
  }
}
