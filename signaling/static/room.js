// The room page: camera and microphone in, one tile per other participant out, chat and photos beside them.
// All signaling lives in vaidya-client.js; this file only draws and handles buttons. Every word comes from
// room-words.js in the page's language; the picker changes it in place, without leaving the call.
import { VaidyaClient, readTokenClaims, sha256Hex } from "./vaidya-client.js";
import { LANGUAGES, LANGUAGE_NAMES, fill, loadWords, pickLanguage, qualityWords } from "./room-words.js";

const ROLE_KEYS = { patient: "rolePatient", doctor: "roleDoctor", health_worker: "roleHealthWorker",
                    observer: "roleObserver" };
const ERROR_KEYS = {
  token_missing: "errTokenMissing",
  token_invalid: "errTokenInvalid",
  token_expired: "errTokenExpired",
  token_wrong_room: "errTokenWrongRoom",
  replaced: "errReplaced",
  forbidden: "errForbidden",
  rate_limited: "errRateLimited",
  not_found: "errNotFound",
};
const VIDEO = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 15, max: 24 } };
const PIN_CHOICES = [["auto", null], ["lowVideo", "T3"], ["audioOnly", "A"]];
const SAVE_DATA_KEY = "vaidya.saveData";

let words = await loadWords(pickLanguage());
const $ = (id) => document.getElementById(id);
const roomName = decodeURIComponent(location.pathname.replace(/^\/room\//, "").replace(/\/+$/, ""));
const tiles = new Map(); // participant_id -> {el, video, stream, note, label, quality, labelWords}
let client = null;
let session = null;
let stream = null;
let token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
let status = { key: "loading", values: {}, problem: false };
let photoStatus = null; // {key, values} shown under the photo buttons
const photoUrls = new Map(); // SHA-256 -> blob: URL of a photo this page holds (fetched, or its own)

// A test hook: the client and the live peer connections, so a test can read getStats(); and the SHA-256 of
// every photo this page sent or received (as the bytes it holds), so a test can check one arrived intact.
window.vaidya = {
  get client() { return client; },
  get session() { return session; },
  get publishPc() { return session?.publishPc ?? null; },
  get subscribePc() { return session?.subscribePc ?? null; },
  photosSent: [],
  photosReceived: [],
};

const tr = (key, values) => fill(words[key] ?? key, values);

/** Mark an element as speaking the page's language (and direction: Urdu is written right to left). */
function spoken(el) {
  el.dataset.spoken = "";
  el.lang = words.lang;
  el.dir = words.dir;
  return el;
}

function make(tag, className) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  return spoken(el);
}

function say(key, problem = false, values = {}) {
  status = { key, values, problem };
  $("status").textContent = tr(key, values);
  $("status").classList.toggle("problem", problem);
}

/** The status words for a failure: a known protocol code in the user's words, else the server's message. */
function sayError(err) {
  const key = ERROR_KEYS[err.code];
  if (key) say(key, true);
  else say("errOther", true, { message: err.message });
}

function roleWords(role) {
  return ROLE_KEYS[role] ? tr(ROLE_KEYS[role]) : role || "";
}

/** "Dr. Asha Rao · Doctor": the name the clinic gave the token, else its identity. */
function labelFor(p) {
  return `${p.name || p.identity} · ${roleWords(p.role)}`;
}

/** The name of whoever has this identity in the room now (chat and photos carry the identity). */
function nameOf(identity) {
  for (const p of session?.participants.values() ?? []) if (p.identity === identity && p.name) return p.name;
  return identity;
}

function makeTile(id, label, self = false) {
  const el = document.createElement("div");
  el.className = self ? "tile self" : "tile";
  const screen = document.createElement("div");
  screen.className = "screen";
  const video = document.createElement("video");
  video.autoplay = true;
  video.playsInline = true;
  video.muted = self;
  const note = make("div", "note");
  const quality = make("div", "quality");
  quality.setAttribute("role", "status");
  quality.hidden = true;
  const labelEl = make("span", "label");
  screen.append(video, note, quality, labelEl);
  el.append(screen);
  $("tiles").append(el);
  const tile = { el, video, note, label: labelEl, quality, labelWords: label, noteKey: "", stream: new MediaStream() };
  labelEl.textContent = label();
  video.srcObject = tile.stream;
  tiles.set(id, tile);
  return tile;
}

/** A doctor's controls on another participant's tile: cap what they receive; ask them for a photo. */
function addDoctorControls(tile, participantId) {
  const group = make("div", "pin");
  group.setAttribute("role", "group");
  const legend = make("span", "legend");
  legend.dataset.w = "pinLabel";
  group.append(legend);
  for (const [key, tier] of PIN_CHOICES) {
    const button = make("button");
    button.type = "button";
    button.dataset.tier = tier ?? "auto";
    button.dataset.w = key;
    button.setAttribute("aria-pressed", String(tier === null));
    // The server answers in order, so the last choice's reply leaves the last choice pressed.
    button.addEventListener("click", async () => {
      try {
        await session.pin(participantId, tier);
        for (const b of group.querySelectorAll("button[data-tier]")) b.setAttribute("aria-pressed", String(b === button));
      } catch (err) {
        sayError(err);
      }
    });
    group.append(button);
  }
  const ask = make("button", "ask-photo");
  ask.type = "button";
  ask.dataset.w = "askPhoto";
  ask.addEventListener("click", async () => {
    try {
      await session.requestPhoto(participantId);
      say("photoAsked");
    } catch (err) {
      sayError(err);
    }
  });
  group.append(ask);
  tile.el.append(group);
  applyWordsTo(group);
}

function ensureTile(p) {
  if (p.participant_id === session?.participantId) return null;
  let tile = tiles.get(p.participant_id);
  if (!tile) {
    tile = makeTile(p.participant_id, () => labelFor(p));
    if (session?.role === "doctor") addDoctorControls(tile, p.participant_id);
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
  let key = "";
  const watcher = session.participants.get(participantId)?.role === "observer";
  if (!mine.length) key = watcher ? "watchingOnly" : "noMediaYet";
  else if (mine.every((p) => p.paused)) key = "paused";
  else if (!video) key = "soundOnly";
  else if (video.paused) key = "cameraPaused";
  else if (!tile.stream.getVideoTracks().length) key = "connectingVideo";
  tile.noteKey = key;
  tile.note.textContent = key ? tr(key) : "";
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
  if (session.pausedKind !== undefined) say("youArePaused");
  else say(others ? "inConsultation" : "waitingForOthers");
}

// -- chat and photos ---------------------------------------------------------------------------------

const clock = () => new Intl.DateTimeFormat(words.lang, { hour: "numeric", minute: "2-digit" });

function chatItem(who, at, mine) {
  const item = make("li", mine ? "mine" : "theirs");
  const head = make("span", "who");
  head.append(document.createTextNode(who), " ");
  const time = document.createElement("time");
  time.dateTime = new Date(at * 1000).toISOString();
  time.dataset.at = String(at);
  time.textContent = clock().format(new Date(at * 1000));
  head.append(time);
  item.append(head);
  return item;
}

function whoSaid(line, mine) {
  return mine ? tr("you") : `${nameOf(line.identity)} · ${roleWords(line.role)}`;
}

function showChat(line, mine) {
  const item = chatItem(whoSaid(line, mine), line.at, mine);
  item.dataset.chatId = line.chat_id;
  const text = document.createElement("p");
  text.className = "text";
  text.dir = "auto"; // each line in its own script's direction, whatever the page's language
  text.textContent = line.text;
  item.append(text);
  appendToLog(item);
}

function appendToLog(item) {
  const log = $("chat-log");
  const atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.append(item);
  if (atEnd || item.classList.contains("mine")) log.scrollTop = log.scrollHeight;
}

async function showPhoto(photo, mine) {
  const item = chatItem(whoSaid(photo, mine), photo.at, mine);
  item.dataset.photoId = photo.photo_id;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "photo";
  const img = document.createElement("img");
  button.append(img);
  item.append(button);
  appendToLog(item);
  if (!mine) say("newPhoto", false, { name: roleWords(photo.role) });
  try {
    let url = photoUrls.get(photo.sha256);
    if (!url) {
      const blob = await session.fetchPhoto(photo);
      const sha256 = await sha256Hex(new Uint8Array(await blob.arrayBuffer()));
      window.vaidya.photosReceived.push({ photo_id: photo.photo_id, sha256, size: blob.size, expected: photo.sha256 });
      url = URL.createObjectURL(blob);
      photoUrls.set(photo.sha256, url);
    }
    img.src = url;
    img.alt = tr("photoFrom", { name: roleWords(photo.role) });
    button.addEventListener("click", () => openPhoto(url, img.alt));
  } catch (err) {
    sayError(err);
  }
}

/** Full size: the photo at its own resolution in a scrolling view, over the call. */
function openPhoto(url, title) {
  $("photo-view-img").src = url;
  $("photo-view-img").alt = title;
  $("photo-view-title").textContent = title;
  $("photo-view").hidden = false;
  $("photo-view-close").focus();
}

function setPhotoStatus(key, values = {}) {
  photoStatus = key ? { key, values } : null;
  $("photo-progress").textContent = key ? tr(key, values) : "";
}

function openPhotoBox(asked) {
  $("photo-box-title").dataset.w = asked ? "doctorAsksPhoto" : "sendPhoto";
  $("photo-box-title").textContent = tr($("photo-box-title").dataset.w);
  $("take-photo").hidden = !stream?.getVideoTracks().length;
  setPhotoStatus(null);
  $("photo-box").hidden = false;
  ($("take-photo").hidden ? $("choose-photo") : $("take-photo")).focus();
}

/** A still at the camera's full resolution: ImageCapture.takePhoto where the browser has it, else the
 * live track's current frame at its native size drawn on a canvas. */
async function captureStill() {
  const track = stream?.getVideoTracks()[0];
  if (!track) throw new Error("no camera");
  if ("ImageCapture" in window) {
    try {
      return await new ImageCapture(track).takePhoto();
    } catch {
      // Some cameras cannot take photos while streaming: grab a frame instead.
    }
  }
  const { width, height } = track.getSettings();
  const video = tiles.get("self")?.video;
  const canvas = document.createElement("canvas");
  canvas.width = width || video.videoWidth;
  canvas.height = height || video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("no frame"))),
                                                        "image/jpeg", 0.92));
}

async function sendPhoto(getBlob) {
  const s = session;
  if (!s) return;
  for (const id of ["take-photo", "choose-photo"]) $(id).disabled = true;
  try {
    const blob = await getBlob();
    const bytes = new Uint8Array(await blob.arrayBuffer());
    const sha256 = await sha256Hex(bytes);
    // Our own photo is shown from the bytes we hold: never fetched back over a weak link.
    photoUrls.set(sha256, URL.createObjectURL(blob));
    const photo = await s.uploadPhoto(blob, {
      onProgress: (sent, total) => setPhotoStatus("sendingPhoto", { percent: Math.floor((100 * sent) / total) }),
    });
    window.vaidya.photosSent.push({ photo_id: photo.photo_id, sha256, size: bytes.length });
    setPhotoStatus("photoSent");
    setTimeout(() => { if (photoStatus?.key === "photoSent") $("photo-box").hidden = true; }, 1500);
  } catch (err) {
    setPhotoStatus("photoFailed");
    if (err.code) sayError(err);
  } finally {
    for (const id of ["take-photo", "choose-photo"]) $(id).disabled = false;
    $("choose-photo").value = "";
  }
}

// -- the session -------------------------------------------------------------------------------------

function wire(s) {
  session = s;
  $("chat-log").replaceChildren();
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
    const p = s.participants.get(producer.participant_id) || { ...producer, identity: tr("someone"), role: "" };
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
  s.addEventListener("uplink-budget", () => refreshOwnQuality());
  s.addEventListener("quality", (e) => {
    const producer = s.producers.get(e.detail.producer_id);
    if (producer) refreshQuality(producer.participant_id);
  });
  s.addEventListener("chat", (e) => showChat(e.detail.message, e.detail.mine));
  s.addEventListener("photo", (e) => showPhoto(e.detail.photo, e.detail.mine));
  s.addEventListener("photo-request", () => openPhotoBox(true));
  s.addEventListener("state", (e) => {
    if (e.detail.state === "reconnecting") say("connectionLost", true);
    if (e.detail.state === "joined") updatePresence();
  });
  s.addEventListener("pc-state", (e) => {
    if (e.detail.state === "disconnected") say("weakConnection", true);
    if (e.detail.state === "connected") updatePresence();
  });
  s.addEventListener("error", (e) => sayError(e.detail.error));
  s.addEventListener("ended", (e) => {
    if (e.detail.reason !== "left") {
      if (ERROR_KEYS[e.detail.reason]) say(ERROR_KEYS[e.detail.reason], true);
      else say("noLongerIn", true);
    }
    finish();
  });
}

/** Our own tile says so when the server's uplink budget leaves our link no video (the voice still goes). */
function refreshOwnQuality() {
  const self = tiles.get("self");
  if (!self) return;
  const off = session?.uplinkBudget && !session.uplinkBudget.video;
  self.quality.textContent = off ? words.ownVideoOff : "";
  self.quality.hidden = !off;
}

function theClient() {
  if (!client) {
    client = new VaidyaClient();
    client.addEventListener("state", (e) => {
      if (e.detail.state === "reconnecting") say("connectionLost", true);
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
    askForToken("errTokenInvalid");
    return;
  }
  say("startingCamera");
  const canPublish = claims.grants?.publish !== false;
  stream = await openCamera(canPublish);
  if (canPublish) {
    // Your own tile stays, with a lasting note when the camera could not be opened.
    const self = makeTile("self", () => `${tr("you")} · ${roleWords(claims.role)}`, true);
    if (stream) {
      for (const track of stream.getTracks()) self.stream.addTrack(track);
      play(self.video);
    }
    self.noteKey = !stream ? "noDevices" : !stream.getVideoTracks().length ? "noCamera" : "";
    self.note.textContent = self.noteKey ? tr(self.noteKey) : "";
  }
  say("connecting");
  try {
    session = await theClient().join(roomName, token, { stream, onSession: wire });
  } catch (err) {
    finish();
    if (err.code?.startsWith("token_")) askForToken(ERROR_KEYS[err.code] || "errTokenInvalid");
    else sayError(err);
    return;
  }
  for (const p of session.participants.values()) ensureTile(p);
  for (const id of tiles.keys()) if (id !== "self") refreshNote(id);
  updatePresence();
  setControls(true);
  $("chat").hidden = false;
  $("open-photo-box").hidden = !canPublish;
  if (localStorage.getItem(SAVE_DATA_KEY) === "1") setSaveData(true);
}

/** The control buttons' words follow their state (pressed or not) and the page's language. */
function refreshControlWords() {
  const pressed = (id) => $(id).getAttribute("aria-pressed") === "true";
  $("mic").textContent = tr(pressed("mic") ? "unmuteMic" : "muteMic");
  $("cam").textContent = tr(pressed("cam") ? "cameraOn" : "cameraOff");
  $("pause").textContent = tr(pressed("pause") ? "resumeSending" : "pauseSending");
  $("save-data").textContent = tr(pressed("save-data") ? "stopSaving" : "saveData");
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
  refreshControlWords();
  offerCameraSwitch();
}

/** Ask the server to send us less (or everything again); the choice is remembered on this device. */
async function setSaveData(enabled) {
  const button = $("save-data");
  button.disabled = true;
  try {
    await session.setSaveData(enabled);
    localStorage.setItem(SAVE_DATA_KEY, enabled ? "1" : "0");
    button.setAttribute("aria-pressed", String(enabled));
    refreshControlWords();
  } catch (err) {
    sayError(err);
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
  $("photo-box").hidden = true;
  $("chat").hidden = true;
  $("rejoin-box").hidden = false;
}

function askForToken(problemKey) {
  $("token-form").hidden = false;
  $("rejoin-box").hidden = true;
  if (problemKey) say(problemKey, true);
  else say("enterCode");
}

// -- front and back camera ---------------------------------------------------------------------------

async function cameras() {
  const devices = await navigator.mediaDevices.enumerateDevices().catch(() => []);
  return devices.filter((d) => d.kind === "videoinput");
}

/** The switch shows only where the device has more than one camera (a phone's front and back). */
async function offerCameraSwitch() {
  $("switch-cam").hidden = !stream?.getVideoTracks().length || (await cameras()).length < 2;
}

/** The next camera (front → back on a phone), sent in place of this one without renegotiating. */
async function switchCamera() {
  const current = stream.getVideoTracks()[0];
  const all = await cameras();
  const at = all.findIndex((d) => d.deviceId === current.getSettings().deviceId);
  const next = all[(at + 1) % all.length];
  const settings = current.getSettings();
  const fresh = await navigator.mediaDevices.getUserMedia({
    video: { deviceId: { exact: next.deviceId }, width: { ideal: settings.width }, height: { ideal: settings.height } },
  });
  const track = fresh.getVideoTracks()[0];
  await session.replaceTrack(track);
  const self = tiles.get("self");
  if (self) {
    for (const old of self.stream.getVideoTracks()) self.stream.removeTrack(old);
    self.stream.addTrack(track);
  }
}

function toggle(button, kind) {
  const off = button.getAttribute("aria-pressed") !== "true";
  for (const track of stream?.getTracks() || []) if (track.kind === kind) track.enabled = !off;
  button.setAttribute("aria-pressed", String(off));
  refreshControlWords();
}

// -- language ----------------------------------------------------------------------------------------

function applyWordsTo(root) {
  for (const el of root.querySelectorAll("[data-w]")) el.textContent = tr(el.dataset.w);
  if (root.dataset?.w) root.textContent = tr(root.dataset.w);
  for (const el of root.querySelectorAll("[data-w-label]")) el.setAttribute("aria-label", tr(el.dataset.wLabel));
  for (const el of root.querySelectorAll("[data-w-placeholder]")) el.placeholder = tr(el.dataset.wPlaceholder);
  const group = root.classList?.contains("pin") ? root : null;
  if (group) group.setAttribute("aria-label", tr("pinLabel"));
}

/** Speak `lang` everywhere on the page, now: fixed words, the status, tiles, controls, chat times. */
async function useLanguage(lang) {
  words = await loadWords(lang);
  document.documentElement.lang = words.lang;
  document.documentElement.dir = words.dir;
  $("lang-pick").value = words.lang;
  for (const el of document.querySelectorAll("[data-spoken]")) {
    el.lang = words.lang;
    el.dir = words.dir;
  }
  applyWordsTo(document.body);
  for (const group of document.querySelectorAll(".pin")) applyWordsTo(group);
  $("room-title").textContent = `${tr("consultation")}: ${roomName}`;
  say(status.key, status.problem, status.values);
  if (photoStatus) setPhotoStatus(photoStatus.key, photoStatus.values);
  refreshControlWords();
  for (const [id, tile] of tiles) {
    tile.label.textContent = tile.labelWords();
    if (id === "self") tile.note.textContent = tile.noteKey ? tr(tile.noteKey) : "";
    else refreshNote(id);
  }
  refreshOwnQuality();
  const format = clock();
  for (const time of document.querySelectorAll("#chat-log time")) {
    time.textContent = format.format(new Date(Number(time.dataset.at) * 1000));
  }
}

function fillPicker() {
  const pick = $("lang-pick");
  for (const code of LANGUAGES) {
    const option = document.createElement("option");
    option.value = code;
    option.lang = code;
    option.textContent = LANGUAGE_NAMES[code];
    pick.append(option);
  }
  pick.addEventListener("change", async () => {
    // Kept in the fragment (with the token, never sent to the server), so a reload speaks it too.
    const hash = new URLSearchParams(location.hash.slice(1));
    hash.set("lang", pick.value);
    history.replaceState(null, "", `${location.pathname}${location.search.replace(/([?&])lang=[^&]*&?/, "$1")}#${hash}`);
    await useLanguage(pick.value);
  });
}

// -- buttons -----------------------------------------------------------------------------------------

$("mic").addEventListener("click", (e) => toggle(e.currentTarget, "audio"));
$("cam").addEventListener("click", (e) => toggle(e.currentTarget, "video"));
$("switch-cam").addEventListener("click", async (e) => {
  const button = e.currentTarget;
  button.disabled = true;
  try {
    await switchCamera();
  } catch (err) {
    sayError(err);
  } finally {
    button.disabled = false;
  }
});
$("pause").addEventListener("click", async (e) => {
  const button = e.currentTarget;
  const pausing = button.getAttribute("aria-pressed") !== "true";
  button.disabled = true;
  try {
    if (pausing) await session.pause();
    else await session.resume();
    button.setAttribute("aria-pressed", String(pausing));
    refreshControlWords();
    updatePresence();
  } catch (err) {
    sayError(err);
  } finally {
    button.disabled = false;
  }
});
$("save-data").addEventListener("click", (e) => setSaveData(e.currentTarget.getAttribute("aria-pressed") !== "true"));
spoken($("save-data"));
$("leave").addEventListener("click", async () => {
  const s = session;
  finish();
  say("youLeft");
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
  const hash = new URLSearchParams(location.hash.slice(1));
  hash.set("token", token);
  history.replaceState(null, "", `#${hash}`);
  start();
});
$("chat-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const input = $("chat-input");
  const text = input.value.replace(/\r\n?/g, "\n");
  if (!text.trim() || !session) return;
  input.disabled = true;
  try {
    await session.sendChat(text);
    input.value = "";
  } catch (err) {
    if (err.code === "bad_message" || err.code === "unavailable" || !err.code) say("notSent", true);
    else sayError(err);
  } finally {
    input.disabled = false;
    input.focus();
  }
});
$("chat-input").addEventListener("keydown", (e) => {
  // Enter sends; Shift+Enter starts a new line.
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    $("chat-form").requestSubmit();
  }
});
$("open-photo-box").addEventListener("click", () => openPhotoBox(false));
$("photo-cancel").addEventListener("click", () => { $("photo-box").hidden = true; });
$("take-photo").addEventListener("click", () => sendPhoto(captureStill));
$("choose-photo").addEventListener("change", (e) => {
  const file = e.currentTarget.files?.[0];
  if (file) sendPhoto(async () => file);
});
$("photo-view-close").addEventListener("click", () => { $("photo-view").hidden = true; });
$("photo-view").addEventListener("keydown", (e) => { if (e.key === "Escape") $("photo-view").hidden = true; });

fillPicker();
await useLanguage(words.lang);
document.title = `Vaidya · ${roomName}`;
if (token) start();
else askForToken();
