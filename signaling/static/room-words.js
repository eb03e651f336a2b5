// Every word the room page shows, in the portal's eleven languages (portal/i18n.py): English here, each other
// language in words/<code>.js, fetched only when chosen, so a phone on 2G downloads one language, not eleven.
// `{name}`-style placeholders are filled by fill(); every language keeps the same placeholders.
export const ENGLISH = {
  consultation: "Consultation",
  loading: "Loading…",
  language: "Language",
  tokenPrompt: "Paste the access code you were given",
  join: "Join",
  people: "People in this consultation",
  soundOn: "Tap to turn on sound",
  callControls: "Call controls",
  muteMic: "Mute microphone",
  unmuteMic: "Unmute microphone",
  cameraOff: "Turn camera off",
  cameraOn: "Turn camera on",
  switchCamera: "Switch camera",
  pauseSending: "Pause sending",
  resumeSending: "Resume sending",
  leave: "Leave",
  joinAgain: "Join again",
  rolePatient: "Patient",
  roleDoctor: "Doctor",
  roleHealthWorker: "Health worker",
  roleObserver: "Observer",
  you: "You",
  someone: "Someone",
  errTokenMissing: "An access code is needed to join.",
  errTokenInvalid: "This access code is not valid. Check the link you were sent.",
  errTokenExpired: "This access code has expired. Ask the clinic for a new link.",
  errTokenWrongRoom: "This access code is for a different consultation.",
  errReplaced: "You joined this consultation from another tab or device, so this one stopped.",
  errForbidden: "You can see and hear others, but you cannot send video here.",
  errRateLimited: "Too many actions at once. Please wait a moment.",
  errNotFound: "That person is no longer in the consultation.",
  errOther: "Something went wrong: {message}",
  noDevices: "No camera or microphone here: others cannot see or hear you, but you see and hear them.",
  noCamera: "No camera here: others can hear you but not see you.",
  watchingOnly: "Watching only",
  noMediaYet: "No video or sound yet",
  paused: "Paused",
  soundOnly: "Sound only",
  cameraPaused: "Camera paused",
  connectingVideo: "Connecting video…",
  youArePaused: "Paused: others in this room cannot see or hear you.",
  inConsultation: "In the consultation",
  waitingForOthers: "Waiting for others to join…",
  connectionLost: "Connection lost. Trying again…",
  weakConnection: "Your connection is weak. Trying to keep the call going…",
  noLongerIn: "You are no longer in the consultation.",
  startingCamera: "Starting your camera…",
  connecting: "Connecting…",
  youLeft: "You left the consultation.",
  enterCode: "Enter your access code to join.",
  chat: "Chat",
  writeMessage: "Write a message",
  send: "Send",
  notSent: "Your message was not sent. Try again.",
  askPhoto: "Ask for a photo",
  photoAsked: "Photo requested. Waiting for it…",
  doctorAsksPhoto: "The doctor asks for a photo",
  sendPhoto: "Send a photo",
  takePhoto: "Take a photo",
  choosePhoto: "Choose from gallery",
  notNow: "Not now",
  sendingPhoto: "Sending the photo… {percent}%",
  photoSent: "Photo sent",
  photoFailed: "The photo could not be sent. Try again.",
  newPhoto: "New photo from {name}",
  photoFrom: "Photo from {name}",
  close: "Close",
  weakAudio: "Weak network — audio only",
  weakVideo: "Weak network — lower video quality",
  pinnedAudio: "Audio only, set by the doctor",
  pinnedVideo: "Lower video quality, set by the doctor",
  ownVideoOff: "Weak network — others hear you but cannot see you",
  saving: "Saving data",
  saveData: "Save data",
  stopSaving: "Stop saving data",
  pinLabel: "What they receive",
  auto: "Auto",
  lowVideo: "Low video",
  audioOnly: "Audio only",
};
/** Each language's name in itself, for the picker (as the portal's picker shows them). */
export const LANGUAGE_NAMES = {
  en: "English", hi: "हिन्दी", bn: "বাংলা", mr: "मराठी", te: "తెలుగు", ta: "தமிழ்", gu: "ગુજરાતી", ur: "اردو",
  kn: "ಕನ್ನಡ", or: "ଓଡ଼ିଆ", ml: "മലയാളം",
};
// The portal's languages (portal/i18n.py LANGUAGES); all but English live in words/<code>.js.
export const LANGUAGES = ["en", "hi", "bn", "mr", "te", "ta", "gu", "ur", "kn", "or", "ml"];
const RIGHT_TO_LEFT = new Set(["ur"]);

/** The first language asked for that we have: `?lang=`, then `lang` in the fragment, then the browser's. */
export function pickLanguage(loc = location, nav = navigator) {
  const asked = [
    new URLSearchParams(loc.search).get("lang"),
    new URLSearchParams(loc.hash.slice(1)).get("lang"),
    ...(nav.languages?.length ? nav.languages : [nav.language]),
  ];
  for (const tag of asked) {
    const base = (tag || "").toLowerCase().split(/[-_]/)[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return "en";
}

/** The words of one language (English for any key it lacks, or all of them if its file fails to load),
 * with its code and writing direction. */
export async function loadWords(lang) {
  let own = {};
  if (lang !== "en" && LANGUAGES.includes(lang)) {
    try {
      own = (await import(`./words/${lang}.js`)).default;
    } catch {
      lang = "en";
    }
  }
  return { ...ENGLISH, ...own, lang, dir: RIGHT_TO_LEFT.has(lang) ? "rtl" : "ltr" };
}

/** What a tile says about the video it receives, from a `quality` event; "" at the original (T0). */
export function qualityWords(quality, words) {
  if (!quality || quality.kind !== "video" || !quality.reason || quality.tier === "T0") return "";
  const audioOnly = quality.tier === "A";
  if (quality.reason === "save_data") return words.saving;
  if (quality.reason === "pinned") return audioOnly ? words.pinnedAudio : words.pinnedVideo;
  return audioOnly ? words.weakAudio : words.weakVideo;
}

/** A phrase with its `{placeholders}` filled in. */
export function fill(phrase, values = {}) {
  return phrase.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}
