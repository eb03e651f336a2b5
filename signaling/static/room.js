// The room page: camera and microphone in, one tile per other participant out.
// All signaling lives in vaidya-client.js; this file only draws and handles buttons.
import { VaidyaClient, readTokenClaims } from "./vaidya-client.js";
import { loadWords, pickLanguage, qualityWords } from "./room-words.js";

const ROLE_WORDS = { patient: "Patient", doctor: "Doctor", health_worker: "Health worker", observer: "Observer" };
const ERROR_WORDS = {
  token_missing: "An access code is needed to join.",
  token_invalid: "This access code is not valid. Check the link you were sent.",
  token_expired: "This access code has expired. Ask the clinic for a new link.",
  token_wrong_room: "This access code is for a different consultation.",
  replaced: "You joined this consultation from another tab or device, so this one stopped.",
  forbidden: "You can see and hear others, but you cannot send video here.",
  rate_limited: "Too many actions at once. Please wait a moment.",
  not_found: "That person is no longer in the consultation.",
};
const NO_DEVICES = "No camera or microphone here: others cannot see or hear you, but you see and hear them.";
const NO_CAMERA = "No camera here: others can hear you but not see you.";
const VIDEO = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 15, max: 24 } };
// The adaptation words (room-words.js) speak the user's language; the rest of the page is English for now.
const words = await loadWords(pickLanguage());
const PIN_CHOICES = [["auto", null], ["lowVideo", "T3"], ["audioOnly", "A"]];
const SAVE_DATA_KEY = "vaidya.saveData";

const $ = (id) => document.getElementById(id);
const roomName = decodeURIComponent(location.pathname.replace(/^\/room\//, "").replace(/\/+$/, ""));
const tiles = new Map(); // participant_id -> {el, video, stream, note, label, quality}
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

/** An element speaking the adaptation words' language (and direction: Urdu is written right to left). */
function spoken(tag, className) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  el.lang = words.lang;
  el.dir = words.dir;
  return el;
}

function makeTile(id, labelText, self = false) {
  const el = document.createElement("div");
  el.className = self ? "tile self" : "tile";
  const screen = document.createElement("div");
  screen.className = "screen";
  const video = document.createElement("video");
  video.autoplay = true;
  video.playsInline = true;
  video.muted = self;
  const note = document.createElement("div");
  note.className = "note";
  const quality = spoken("div", "quality");
  quality.setAttribute("role", "status");
  quality.hidden = true;
  const label = document.createElement("span");
  label.className = "label";
  label.textContent = labelText;
  screen.append(video, note, quality, label);
  el.append(screen);
  $("tiles").append(el);
  const tile = { el, video, note, label, quality, stream: new MediaStream() };
  video.srcObject = tile.stream;
  tiles.set(id, tile);
  return tile;
}

/** A doctor's control on another participant's tile: cap what that participant receives. */
function addPinControl(tile, participantId) {
  const group = spoken("div", "pin");
  group.setAttribute("role", "group");
  group.setAttribute("aria-label", words.pinLabel);
  const legend = spoken("span", "legend");
  legend.textContent = words.pinLabel;
  group.append(legend);
  for (const [key, tier] of PIN_CHOICES) {
    const button = spoken("button");
    button.type = "button";
    button.dataset.tier = tier ?? "auto";
    button.textContent = words[key];
    button.setAttribute("aria-pressed", String(tier === null));
    // The server answers in order, so the last choice's reply leaves the last choice pressed.
    button.addEventListener("click", async () => {
      try {
        await session.pin(participantId, tier);
        for (const b of group.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b === button));
      } catch (err) {
        say(explain(err), true);
      }
    });
    group.append(button);
  }
  tile.el.append(group);
}

function labelFor(p) {
  return `${p.identity} · ${ROLE_WORDS[p.role] || p.role}`;
}

function ensureTile(p) {
  if (p.participant_id === session?.participantId) return null;
  let tile = tiles.get(p.participant_id);
  if (!tile) {
    tile = makeTile(p.participant_id, labelFor(p));
    if (session?.role === "doctor") addPinControl(tile, p.participant_id);
  }
  return tile;
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
  refreshQuality(participantId);
}

/** The tile's words about the video it receives (a lower tier, and why); hidden at the original. */
function refreshQuality(participantId) {
  const tile = tiles.get(participantId);
  if (!tile || !session) return;
  const video = [...session.producers.values()].find((p) => p.participant_id === participantId && p.kind === "video");
  const text = video ? qualityWords(session.quality.get(video.producer_id), words) : "";
  tile.quality.textContent = text;
  tile.quality.hidden = !text;
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
  s.addEventListener("uplink-budget", (e) => {
    // Our own link cannot carry our video: say so on our own tile (the voice still goes).
    const self = tiles.get("self");
    if (!self) return;
    self.quality.textContent = e.detail.video ? "" : words.ownVideoOff;
    self.quality.hidden = !!e.detail.video;
  });
  s.addEventListener("quality", (e) => {
    const producer = s.producers.get(e.detail.producer_id);
    if (producer) refreshQuality(producer.participant_id);
  });
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
  if (localStorage.getItem(SAVE_DATA_KEY) === "1") setSaveData(true);
}

function setControls(on) {
  $("controls").hidden = !on;
  if (!on) return;
  const hasAudio = !!stream?.getAudioTracks().length;
  const hasVideo = !!stream?.getVideoTracks().length;
  $("mic").hidden = !hasAudio;
  $("cam").hidden = !hasVideo;
  $("pause").hidden = !hasAudio && !hasVideo;
  for (const id of ["mic", "cam", "pause", "save-data"]) $(id).setAttribute("aria-pressed", "false");
  $("mic").textContent = "Mute microphone";
  $("cam").textContent = "Turn camera off";
  $("pause").textContent = "Pause sending";
  $("save-data").textContent = words.saveData;
}

/** Ask the server to send us less (or everything again); the choice is remembered on this device. */
async function setSaveData(enabled) {
  const button = $("save-data");
  button.disabled = true;
  try {
    await session.setSaveData(enabled);
    localStorage.setItem(SAVE_DATA_KEY, enabled ? "1" : "0");
    button.setAttribute("aria-pressed", String(enabled));
    button.textContent = enabled ? words.stopSaving : words.saveData;
  } catch (err) {
    say(explain(err), true);
  } finally {
    button.disabled = false;
  }
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
$("save-data").addEventListener("click", (e) => setSaveData(e.currentTarget.getAttribute("aria-pressed") !== "true"));
$("save-data").lang = words.lang;
$("save-data").dir = words.dir;
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
