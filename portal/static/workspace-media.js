// What the doctor's page receives of the patient, read from the subscribe connection's getStats(), and the
// words-free verdict on it (good / weak / poor). Kept apart from the page so the thresholds sit in one place.

const LOSS_WEAK = 0.03;
const LOSS_POOR = 0.1;
const JITTER_WEAK_S = 0.05;
const FPS_WEAK = 10;
const FPS_POOR = 5;
/** The patient's side of the call: the patient's own page, or the health worker's device they sit beside
 * (assisted mode, hub and spoke). */
export const PATIENT_SIDE = new Set(["patient", "health_worker"]);

/** Sums over the inbound streams that carry the patient's side's producers (by the offer's mid → producer map). */
export async function mediaFromPatient(pc, session) {
  const out = { framesDecoded: 0, audioPackets: 0, packetsReceived: 0, packetsLost: 0, jitter: 0, fps: 0, video: false };
  const report = await pc.getStats();
  report.forEach((s) => {
    if (s.type !== "inbound-rtp") return;
    const producer = session.remote.get(s.mid)?.producer;
    const role = producer ? session.participants.get(producer.participant_id)?.role : undefined;
    if (producer && !PATIENT_SIDE.has(role)) return;
    out.packetsReceived += s.packetsReceived || 0;
    out.packetsLost += Math.max(0, s.packetsLost || 0);
    out.jitter = Math.max(out.jitter, s.jitter || 0);
    if (s.kind === "video") {
      out.video = true;
      out.framesDecoded += s.framesDecoded || 0;
      out.fps = Math.max(out.fps, s.framesPerSecond || 0);
    } else {
      out.audioPackets += s.packetsReceived || 0;
    }
  });
  return out;
}

/**
 * Good, weak or poor, from the loss and jitter over the last interval, the frame rate, and the server's
 * `quality` for the patient's video (a lower tier because of the network). `detail` is figures, no words.
 */
export function connectionLevel(before, now, seconds, quality) {
  const received = now.packetsReceived - before.packetsReceived;
  const lost = now.packetsLost - before.packetsLost;
  const loss = received + lost > 0 ? Math.max(0, lost) / (received + lost) : 0;
  const fps = now.video ? now.fps || (now.framesDecoded - before.framesDecoded) / seconds : null;
  const network = quality && quality.reason === "network" ? quality.tier : null;
  let level = "good";
  if (loss >= LOSS_WEAK || now.jitter >= JITTER_WEAK_S || (fps !== null && fps < FPS_WEAK) || (network && network !== "T0")) {
    level = "weak";
  }
  if (loss >= LOSS_POOR || (fps !== null && fps < FPS_POOR) || network === "A") level = "poor";
  const parts = [`${(loss * 100).toFixed(1)} %`, `${Math.round(now.jitter * 1000)} ms`];
  if (fps !== null) parts.push(`${Math.round(fps)} fps`);
  return { level, loss, fps, jitter: now.jitter, detail: parts.join(" · ") };
}
