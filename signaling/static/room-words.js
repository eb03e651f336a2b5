// The room page's words for adaptation (what a stream's quality is and why, Save data, the doctor's pin),
// in the portal's eleven languages (portal/i18n.py): English here, each other language in words/<code>.js,
// fetched only when chosen, so a phone on 2G downloads one language, not eleven. Only these strings are
// translated so far; the rest of the page is English until the whole page is localized.
export const ENGLISH = {
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
