/**
 * SDP munging for music: stereo Opus at a high bitrate.
 *
 * Browsers send mono Opus at ~32 kb/s by default. Adding stereo=1; sprop-stereo=1 and
 * maxaveragebitrate=256000 to the Opus fmtp line asks the other side for (and announces) a
 * stereo stream at up to 256 kb/s.
 */

export const MUSIC_FMTP = { stereo: "1", "sprop-stereo": "1", maxaveragebitrate: "256000" };

export function opusPayloadTypes(sdp) {
  const types = [];
  for (const match of sdp.matchAll(/^a=rtpmap:(\d+) opus\/48000(?:\/2)?\r?$/gim)) types.push(match[1]);
  return types;
}

/** The SDP with MUSIC_FMTP merged into every Opus fmtp line (added if missing). */
export function musicSdp(sdp) {
  let out = sdp;
  for (const pt of opusPayloadTypes(sdp)) {
    const fmtp = new RegExp(`^a=fmtp:${pt} (.*)$`, "m");
    const found = out.match(fmtp);
    if (found) {
      const params = new Map(
        found[1].replace(/\r$/, "").split(";").filter(Boolean).map((kv) => kv.trim().split("=")),
      );
      for (const [k, v] of Object.entries(MUSIC_FMTP)) params.set(k, v);
      const line = [...params].map(([k, v]) => `${k}=${v}`).join(";");
      out = out.replace(fmtp, `a=fmtp:${pt} ${line}${found[1].endsWith("\r") ? "\r" : ""}`);
    } else {
      const rtpmap = new RegExp(`^(a=rtpmap:${pt} opus/48000(?:/2)?)(\r?)$`, "m");
      const line = Object.entries(MUSIC_FMTP).map(([k, v]) => `${k}=${v}`).join(";");
      out = out.replace(rtpmap, `$1$2\na=fmtp:${pt} ${line}$2`);
    }
  }
  return out;
}

/** getUserMedia constraints: music mode turns every voice-call filter off and asks for stereo. */
export function audioConstraints(music) {
  if (!music) return { audio: true, video: false };
  return {
    audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 2 },
    video: false,
  };
}
