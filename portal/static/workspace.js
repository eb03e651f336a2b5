// The doctor's consult workspace: the call with the patient, their earlier prescriptions, the prescription
// form (loaded from rx, signed with fetch so the page and the call stay), hold/resume of every open
// consultation. Signaling is vaidya-client.js; the formulary suggestions are rx's formulary-search.js.
// The words come from the page (data-w-*), already in the doctor's language.
import { VaidyaClient } from "/static/vaidya-client.js";
import { enhance } from "/rx/static/formulary-search.js";
import { PATIENT_SIDE, connectionLevel, mediaFromPatient } from "/portal/static/workspace-media.js";
import { mountChat } from "/portal/static/workspace-chat.js";

const $ = (id) => document.getElementById(id);
const root = $("ws");
const words = root.dataset;
const TICK_MS = 1000;
const VIDEO = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 15, max: 24 } };

let client = null;
let session = null;
// A test hook, as on the room page: the client and the room's peer connections, for getStats().
window.vaidya = {
  get client() { return client; },
  get session() { return session; },
  get subscribePc() { return session?.subscribePc ?? null; },
};

function csrfOf(form) {
  return form.querySelector("input[name=csrf]").value;
}

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  return { response, body: await response.json().catch(() => ({})) };
}

// ---- the call ----

function setPresence(key) {
  const el = $("ws-presence");
  el.textContent = words[key];
  el.dataset.state = key.replace(/^w/, "").toLowerCase();
}

function roleOf(participantId) {
  return session?.participants.get(participantId)?.role;
}

/** Whose video fills the screen: the patient's; else the health worker beside them; else anyone's. */
function mainParticipant(remote) {
  for (const role of ["patient", "health_worker"]) {
    const found = remote.find((r) => roleOf(r.producer.participant_id) === role);
    if (found) return found.producer.participant_id;
  }
  return remote[0]?.producer.participant_id;
}

function showRemote() {
  // The main person's video, and everyone's voice (a hub call may have three parties).
  const remote = [...session.remote.values()];
  const main = mainParticipant(remote);
  const tracks = remote
    .filter((r) => r.track.kind === "audio" || r.producer.participant_id === main)
    .map((r) => r.track);
  const video = $("ws-remote");
  const ids = (stream) => (stream ? stream.getTracks().map((t) => t.id).sort().join() : "");
  if (ids(video.srcObject) === tracks.map((t) => t.id).sort().join()) return;
  video.srcObject = new MediaStream(tracks);
  video.play().catch((err) => {
    // A newer stream replaced this one (AbortError): its own play() follows. Only a refused autoplay
    // with sound mutes, and the doctor's next tap or key gives the sound back.
    if (err.name !== "NotAllowedError") return;
    video.muted = true;
    video.play().catch(() => {});
    const unmute = () => {
      video.muted = false;
      video.play().catch(() => {});
    };
    document.addEventListener("pointerdown", unmute, { once: true });
    document.addEventListener("keydown", unmute, { once: true });
  });
}

async function openCamera() {
  // An audio consultation sends no video; a text one neither camera nor microphone.
  const mode = root.dataset.mode;
  if (mode === "text") return null;
  const choices = mode === "audio" ? [{ audio: true }] : [{ audio: true, video: VIDEO }, { audio: true }];
  for (const constraints of choices) {
    try {
      return await navigator.mediaDevices.getUserMedia(constraints);
    } catch {
      // Try with less: no camera on this desk, or a refused permission for it.
    }
  }
  return null;
}

/** Every second: is the patient's media arriving (decoded frames, audio packets), and how well. "The
 * patient has joined" needs media, not just the patient's page in the room (they may not have answered yet). */
function watch() {
  let before = null;
  let lastArrival = 0;
  setInterval(async () => {
    if (!session) return;
    if (session.state !== "joined") {
      // Our own link is down: the room's people are unknown until the client has rejoined.
      setPresence("wReconnecting");
      showQuality(null);
      before = null;
      return;
    }
    const present = [...session.participants.values()].some((p) => PATIENT_SIDE.has(p.role));
    const pc = session.subscribePc;
    const now = pc && present ? await mediaFromPatient(pc, session) : null;
    const arriving = !!(now && before && (now.framesDecoded > before.framesDecoded || now.audioPackets > before.audioPackets));
    if (arriving) lastArrival = Date.now();
    const joined = present && Date.now() - lastArrival < 3 * TICK_MS;
    setPresence(!present ? "wWaiting" : joined ? "wJoined" : "wConnecting");
    showQuality(joined && now && before ? connectionLevel(before, now, TICK_MS / 1000, videoQuality()) : null);
    before = now;
  }, TICK_MS);
}

/** The server's last `quality` for the patient's video (what this page receives of it), if any. */
function videoQuality() {
  for (const [id, q] of session.quality) {
    const producer = session.producers.get(id);
    if (producer && producer.kind === "video" && PATIENT_SIDE.has(roleOf(producer.participant_id))) return q;
  }
  return null;
}

function showQuality(level) {
  const el = $("ws-quality");
  el.className = `ws-quality ${level ? level.level : "unknown"}`;
  $("ws-quality-words").textContent = level ? words[`w${level.level[0].toUpperCase()}${level.level.slice(1)}`] : "";
  $("ws-quality-detail").textContent = level ? level.detail : "";
}

async function startCall() {
  if (root.dataset.status === "ended" || root.dataset.status === "missed") {
    setPresence("wEnded");
    return;
  }
  const { response, body } = await getJson(root.dataset.roomApi);
  if (!response.ok) {
    $("ws-presence").textContent = body.message || words.wEnded;
    return;
  }
  const url = new URL(body.room_url, location.href);
  const room = decodeURIComponent(url.pathname.replace(/^\/room\//, ""));
  const token = new URLSearchParams(url.hash.slice(1)).get("token");
  const stream = await openCamera();
  if (stream) {
    $("ws-self").srcObject = stream;
    $("ws-self").play().catch(() => {});
  }
  client = new VaidyaClient();
  session = await client.join(room, token, {
    stream,
    onSession: (s) => {
      session = s;
      mountChat(s, $("ws-chat"));
      for (const type of ["track", "track-ended", "participant-joined", "participant-left", "joined"]) {
        s.addEventListener(type, () => showRemote());
      }
      s.addEventListener("state", (e) => {
        if (e.detail.state === "reconnecting") setPresence("wReconnecting");
      });
    },
  });
  if (root.dataset.status === "held") await session.pause();
  showRemote();
  watch();
  window.addEventListener("pagehide", () => session?.leave());
}

// ---- the patient's earlier prescriptions (from rx) ----

async function showHistory() {
  const list = $("ws-history");
  const { response, body } = await getJson(root.dataset.history);
  if (!response.ok) return;
  const items = body.prescriptions.map((rx) => {
    const li = document.createElement("li");
    const head = document.createElement("b");
    head.textContent = `${rx.issued_on} · ${rx.id}`;
    li.append(head, ` · ${rx.doctor}`);
    if (rx.status !== "current") li.append(` · ${rx.status}`);
    for (const line of [rx.chief_complaints, rx.diagnosis, rx.medicines.join(", ")]) {
      if (!line) continue;
      const p = document.createElement("span");
      p.className = "line";
      p.textContent = line;
      li.append(p);
    }
    if (rx.pdf) {
      const a = document.createElement("a");
      a.href = rx.pdf;
      a.target = "_blank";
      a.textContent = words.wPdf;
      li.append(" ", a);
    }
    return li;
  });
  if (!items.length) {
    const li = document.createElement("li");
    li.textContent = words.wNone;
    items.push(li);
  }
  list.replaceChildren(...items);
}

// ---- the prescription form (from rx), signed without leaving the page ----

function problemList(lines) {
  const box = $("ws-rx-problems");
  if (!lines.length) return box.replaceChildren();
  const title = document.createElement("strong");
  title.textContent = words.wNotSigned;
  const ul = document.createElement("ul");
  for (const line of lines) {
    const li = document.createElement("li");
    li.textContent = line;
    ul.append(li);
  }
  box.replaceChildren(title, ul);
  box.scrollIntoView({ block: "nearest" });
}

function issued(body) {
  const box = $("ws-rx-result");
  const title = document.createElement("strong");
  title.textContent = `${words.wIssued}: ${body.id}`;
  const link = document.createElement("a");
  link.href = body.pdf;
  link.target = "_blank";
  link.className = "button second";
  link.textContent = words.wPdf;
  box.replaceChildren(title, " ", link);
  box.dataset.id = body.id;
}

async function sign(form) {
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const response = await fetch(form.action, {
      method: "POST", body: new FormData(form), credentials: "same-origin", headers: { Accept: "application/json" },
    });
    const body = await response.json().catch(() => ({}));
    if (response.status === 201) {
      problemList([]);
      issued(body);
      form.reset();
      showHistory();
    } else if (body.problems) {
      problemList(body.problems.map((p) => p.message));
    } else if (body.fields) {
      problemList(Object.entries(body.fields).map(([k, v]) => `${k}: ${v}`));
    } else {
      problemList([body.message || `${response.status} ${response.statusText}`]);
    }
  } catch (err) {
    problemList([String(err.message || err)]);
  } finally {
    button.disabled = false;
  }
}

async function loadForm() {
  const response = await fetch(root.dataset.form, { credentials: "same-origin" });
  if (!response.ok) return; // the plain link to the form's own page stays
  const holder = $("ws-rx-form");
  holder.innerHTML = await response.text(); // our own server's HTML; scripts in it would not run (none are sent)
  const form = holder.querySelector("form");
  // Each medicine field says what it is when the table's headings are folded away on a narrow panel.
  for (const input of form.querySelectorAll("table input[aria-label]")) {
    if (!input.placeholder) input.placeholder = input.getAttribute("aria-label").replace(/^[^:]*:\s*/, "");
  }
  enhance(form);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    sign(form);
  });
}

// ---- hold / resume any open consultation without leaving this one ----

function wireHolds() {
  for (const form of document.querySelectorAll(".ws-list form")) {
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const response = await fetch(form.dataset.api, {
        method: "POST", credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRF-Token": csrfOf(form) },
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        $("ws-presence").textContent = body.message || response.statusText;
        return;
      }
      const { id, status } = body.consultation;
      const item = form.closest("li");
      item.className = item.className.replace(/\b(active|held)\b/, status);
      item.querySelector(".ws-hold").hidden = status !== "active";
      item.querySelector(".ws-resume").hidden = status !== "held";
      const state = item.querySelector(".ws-state");
      state.textContent = state.dataset[status];
      if (String(id) === root.dataset.consultation && session) {
        // This call on hold: the patient neither sees nor hears the doctor until it resumes.
        if (status === "held") await session.pause();
        else await session.resume();
      }
      item.querySelector(status === "held" ? ".ws-resume button" : ".ws-hold button").focus();
    });
  }
}

wireHolds();
showHistory();
loadForm();
startCall().catch((err) => {
  $("ws-presence").textContent = String(err.message || err);
});
