// The room's chat and photos in the doctor's workspace: the same messages as the room page
// (vaidya-client.js keeps them and replays the history on every join), shown in the doctor's language,
// with "Ask for a photo" for the patient's side of the call. The words come from the panel's data-w-*.
import { sha256Hex } from "/static/vaidya-client.js";

const SIDE = ["patient", "health_worker"];

function time(at, lang) {
  const el = document.createElement("time");
  el.dateTime = new Date(at * 1000).toISOString();
  el.textContent = new Intl.DateTimeFormat(lang, { hour: "numeric", minute: "2-digit" }).format(new Date(at * 1000));
  return el;
}

/** Fill `panel` with the session's chat: the log, a message box, and the photo request. */
export function mountChat(session, panel) {
  const words = panel.dataset;
  const lang = document.documentElement.lang || "en";
  panel.hidden = false;
  const title = document.createElement("h2");
  title.textContent = words.wChat;
  const log = document.createElement("ol");
  log.className = "ws-chat-log";
  log.setAttribute("aria-live", "polite");
  const form = document.createElement("form");
  form.className = "ws-chat-form";
  const label = document.createElement("label");
  label.htmlFor = "ws-chat-input";
  label.textContent = words.wMessage;
  const input = document.createElement("input");
  input.id = "ws-chat-input";
  input.maxLength = 1000;
  input.autocomplete = "off";
  const send = document.createElement("button");
  send.className = "second";
  send.textContent = words.wSend;
  form.append(label, input, send);
  const ask = document.createElement("button");
  ask.type = "button";
  ask.className = "second ws-ask-photo";
  ask.textContent = words.wAskPhoto;
  panel.append(title, log, form, ask);
  window.vaidya.photosReceived = [];

  // dataset turns data-w-health_worker into wHealth_worker
  const who = (item, mine) => (mine ? words.wYou : words[`w${item.role[0].toUpperCase()}${item.role.slice(1)}`] || item.role);
  const add = (item, mine, body) => {
    const li = document.createElement("li");
    li.className = mine ? "mine" : "theirs";
    const head = document.createElement("span");
    head.className = "who";
    head.textContent = `${who(item, mine)} · `;
    head.append(time(item.at, lang));
    li.append(head, body);
    log.append(li);
    log.scrollTop = log.scrollHeight;
  };

  session.addEventListener("chat", (e) => {
    const text = document.createElement("p");
    text.textContent = e.detail.message.text;
    add(e.detail.message, e.detail.mine, text);
  });
  session.addEventListener("photo", async (e) => {
    const { photo, mine } = e.detail;
    const img = document.createElement("img");
    img.alt = words.wPhotoFrom;
    const link = document.createElement("a");
    link.append(img);
    add(photo, mine, link);
    const blob = await session.fetchPhoto(photo);
    const sha256 = await sha256Hex(new Uint8Array(await blob.arrayBuffer()));
    window.vaidya.photosReceived.push({ photo_id: photo.photo_id, sha256, size: blob.size, expected: photo.sha256 });
    img.src = link.href = URL.createObjectURL(blob);
    link.target = "_blank";
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    await session.sendChat(text);
    input.value = "";
  });
  ask.addEventListener("click", async () => {
    const other = [...session.participants.values()].find((p) => SIDE.includes(p.role));
    if (other) await session.requestPhoto(other.participant_id);
  });
}
