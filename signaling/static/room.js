// The room page: camera and microphone in, one tile per other participant out.
// All signaling lives in vaidya-client.js; this file only draws and handles buttons.
import { VaidyaClient, readTokenClaims } from "./vaidya-client.js";

const ROLE_WORDS = { patient: "Patient", doctor: "Doctor", health_worker: "Health worker", observer: "Observer" };
const ERROR_WORDS = {
  token_missing: "An access code is needed to join.",
  token_invalid: "This access code is not valid. Check the link you were sent.",
  token_expired: "This access code has expired. Ask the clinic for a new link.",
  token_wrong_room: "This access code is for a different consultation.",
  replaced: "You joined this consultation from another tab or device, so this one stopped.",
  forbidden: "You can see and hear others, but you cannot send video here.",
  rate_limited: "Too many actions at once. Please wait a moment.",
};
const NO_DEVICES = "No camera or microphone here: others cannot see or hear you, but you see and hear them.";
const NO_CAMERA = "No camera here: others can hear you but not see you.";
const VIDEO = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 15, max: 24 } };

const $ = (id) => document.getElementById(id);
const roomName = decodeURIComponent(location.pathname.replace(/^\/room\//, "").replace(/\/+$/, ""));
const tiles = new Map(); // participant_id -> {el, video, stream, note, label}
let client = null;
let session = null;
let stream = null;
let token = new URLSearchParams(location.hash.slice(1)).get("token") || "";

// A test hook: the client and the live peer connections, so a test can read getStats().
window.vaidya = {
  get client() { return client; },
  get session() { return session; },
  get publishPc() { return session?.publishPc ?? null; },
  get subscribePc() { return session?.subscribePc ?? null; },
};

function say(text, problem = false) {
  $("status").textContent = text;
  $("status").classList.toggle("problem", problem);
}

function explain(err) {
  return ERROR_WORDS[err.code] || `Something went wrong: ${err.message}`;
}

function makeTile(id, labelText, self = false) {
  const el = document.createElement("div");
  el.className = self ? "tile self" : "tile";
  const video = document.createElement("video");
  video.autoplay = true;
  video.playsInline = true;
  video.muted = self;
  const note = document.createElement("div");
  note.className = "note";
  const label = document.createElement("span");
  label.className = "label";
  label.textContent = labelText;
  el.append(video, note, label);
  $("tiles").append(el);
  const tile = { el, video, note, label, stream: new MediaStream() };
  video.srcObject = tile.stream;
  tiles.set(id, tile);
  return tile;
}

function labelFor(p) {
  return `${p.identity} · ${ROLE_WORDS[p.role] || p.role}`;
}

function ensureTile(p) {
  if (p.participant_id === session?.participantId) return null;
  return tiles.get(p.participant_id) || makeTile(p.participant_id, labelFor(p));
}

function removeTile(id) {
  const tile = tiles.get(id);
  if (!tile) return;
  tile.video.srcObject = null;
  tile.el.remove();
  tiles.delete(id);
}

/** What a remote tile says over its video: nothing when video is flowing. */
function refreshNote(participantId) {
  const tile = tiles.get(participantId);
  if (!tile || !session) return;
  const mine = [...session.producers.values()].filter((p) => p.participant_id === participantId);
  const video = mine.find((p) => p.kind === "video");
  let text = "";
  const watcher = session.participants.get(participantId)?.role === "observer";
  if (!mine.length) text = watcher ? "Watching only" : "No video or sound yet";
  else if (mine.every((p) => p.paused)) text = "Paused";
  else if (!video) text = "Sound only";
  else if (video.paused) text = "Camera paused";
  else if (!tile.stream.getVideoTracks().length) text = "Connecting video…";
  tile.note.textContent = text;
}

function play(video) {
  video.play().catch(() => {
    // Autoplay with sound was refused: play silently and offer a button (a user gesture) for sound.
    video.muted = true;
    video.play().catch(() => {});
    $("sound-hint").hidden = false;
  });
}

function updatePresence() {
  if (!session || session.state !== "joined") return;
  const others = tiles.size - (tiles.has("self") ? 1 : 0);
  if (session.pausedKind !== undefined) say("Paused: others in this room cannot see or hear you.");
  else say(others ? "In the consultation" : "Waiting for others to join…");
}

function wire(s) {
  session = s;
  s.addEventListener("joined", (e) => {
    for (const p of e.detail.participants) ensureTile(p);
    for (const id of tiles.keys()) if (id !== "self") refreshNote(id);
    updatePresence();
  });
  s.addEventListener("participant-joined", (e) => {
    ensureTile(e.detail.participant);
    refreshNote(e.detail.participant.participant_id);
    updatePresence();
  });
  s.addEventListener("participant-left", (e) => {
    removeTile(e.detail.participant_id);
    updatePresence();
  });
  s.addEventListener("track", (e) => {
    const { producer, track } = e.detail;
    const p = s.participants.get(producer.participant_id) || { ...producer, identity: "Someone", role: "" };
    const tile = ensureTile(p);
    if (!tile) return;
    for (const old of tile.stream.getTracks()) if (old.kind === track.kind) tile.stream.removeTrack(old);
    tile.stream.addTrack(track);
    play(tile.video);
    refreshNote(producer.participant_id);
  });
  s.addEventListener("track-ended", (e) => {
    const tile = tiles.get(e.detail.producer.participant_id);
    const remote = tile?.stream.getTracks().find((t) => t.kind === e.detail.producer.kind);
    if (remote) tile.stream.removeTrack(remote);
    refreshNote(e.detail.producer.participant_id);
  });
  for (const type of ["track-published", "track-unpublished", "producer-paused", "producer-resumed"]) {
    s.addEventListener(type, () => {
      for (const id of tiles.keys()) if (id !== "self") refreshNote(id);
    });
  }
  s.addEventListener("state", (e) => {
    if (e.detail.state === "reconnecting") say("Connection lost. Trying again…", true);
    if (e.detail.state === "joined") updatePresence();
  });
  s.addEventListener("pc-state", (e) => {
    if (e.detail.state === "disconnected") say("Your connection is weak. Trying to keep the call going…", true);
    if (e.detail.state === "connected") updatePresence();
  });
  s.addEventListener("error", (e) => say(explain(e.detail.error), true));
  s.addEventListener("ended", (e) => {
    if (e.detail.reason !== "left") say(ERROR_WORDS[e.detail.reason] || "You are no longer in the consultation.", true);
    finish();
  });
}

function theClient() {
  if (!client) {
    client = new VaidyaClient();
    client.addEventListener("state", (e) => {
      if (e.detail.state === "reconnecting") say("Connection lost. Trying again…", true);
    });
  }
  return client;
}

async function openCamera(canPublish) {
  if (!canPublish || !navigator.mediaDevices?.getUserMedia) return null;
  for (const constraints of [{ audio: true, video: VIDEO }, { audio: true }, { video: VIDEO }]) {
    try {
      return await navigator.mediaDevices.getUserMedia(constraints);
    } catch {
      // Try with less: a phone without a camera, or a refused permission for one of them.
    }
  }
  return null;
}

async function start() {
  $("token-form").hidden = true;
  $("rejoin-box").hidden = true;
  const claims = readTokenClaims(token);
  if (!claims) {
    askForToken(ERROR_WORDS.token_invalid);
    return;
  }
  say("Starting your camera…");
  const canPublish = claims.grants?.publish !== false;
  stream = await openCamera(canPublish);
  if (canPublish) {
    // Your own tile stays, with a lasting note when the camera could not be opened.
    const self = makeTile("self", `You · ${ROLE_WORDS[claims.role] || claims.role || ""}`, true);
    if (stream) {
      for (const track of stream.getTracks()) self.stream.addTrack(track);
      play(self.video);
    }
    if (!stream) self.note.textContent = NO_DEVICES;
    else if (!stream.getVideoTracks().length) self.note.textContent = NO_CAMERA;
  }
  say("Connecting…");
  try {
    session = await theClient().join(roomName, token, { stream, onSession: wire });
  } catch (err) {
    finish();
    if (err.code?.startsWith("token_")) askForToken(explain(err));
    else say(explain(err), true);
    return;
  }
  for (const p of session.participants.values()) ensureTile(p);
  for (const id of tiles.keys()) if (id !== "self") refreshNote(id);
  updatePresence();
  setControls(true);
}

function setControls(on) {
  $("controls").hidden = !on;
  if (!on) return;
  const hasAudio = !!stream?.getAudioTracks().length;
  const hasVideo = !!stream?.getVideoTracks().length;
  $("mic").hidden = !hasAudio;
  $("cam").hidden = !hasVideo;
  $("pause").hidden = !hasAudio && !hasVideo;
  for (const id of ["mic", "cam", "pause"]) $(id).setAttribute("aria-pressed", "false");
  $("mic").textContent = "Mute microphone";
  $("cam").textContent = "Turn camera off";
  $("pause").textContent = "Pause sending";
}

function finish() {
  setControls(false);
  for (const id of [...tiles.keys()]) removeTile(id);
  if (stream) for (const track of stream.getTracks()) track.stop();
  stream = null;
  session = null;
  $("rejoin-box").hidden = false;
}

function askForToken(problem) {
  $("token-form").hidden = false;
  $("rejoin-box").hidden = true;
  if (problem) say(problem, true);
  else say("Enter your access code to join.");
}

function toggle(button, kind, onText, offText) {
  const off = button.getAttribute("aria-pressed") !== "true";
  for (const track of stream?.getTracks() || []) if (track.kind === kind) track.enabled = !off;
  button.setAttribute("aria-pressed", String(off));
  button.textContent = off ? offText : onText;
}

$("mic").addEventListener("click", (e) => toggle(e.currentTarget, "audio", "Mute microphone", "Unmute microphone"));
$("cam").addEventListener("click", (e) => toggle(e.currentTarget, "video", "Turn camera off", "Turn camera on"));
$("pause").addEventListener("click", async (e) => {
  const button = e.currentTarget;
  const pausing = button.getAttribute("aria-pressed") !== "true";
  button.disabled = true;
  try {
    if (pausing) await session.pause();
    else await session.resume();
    button.setAttribute("aria-pressed", String(pausing));
    button.textContent = pausing ? "Resume sending" : "Pause sending";
    updatePresence();
  } catch (err) {
    say(explain(err), true);
  } finally {
    button.disabled = false;
  }
});
$("leave").addEventListener("click", async () => {
  const s = session;
  finish();
  say("You left the consultation.");
  await s?.leave();
});
$("rejoin").addEventListener("click", () => start());
$("sound-on").addEventListener("click", () => {
  for (const [id, tile] of tiles) {
    if (id === "self") continue;
    tile.video.muted = false;
    tile.video.play().catch(() => {});
  }
  $("sound-hint").hidden = true;
});
$("token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  token = $("token-input").value.trim();
  history.replaceState(null, "", `#token=${encodeURIComponent(token)}`);
  start();
});

$("room-title").textContent = `Consultation: ${roomName}`;
document.title = `Vaidya · ${roomName}`;
if (token) start();
else askForToken();
