// The room page's adaptation words in gu (keys: room-words.js ENGLISH).
export default {
  weakAudio: "નબળું નેટવર્ક — ફક્ત અવાજ",
  weakVideo: "નબળું નેટવર્ક — વીડિયોની ગુણવત્તા ઘટાડી",
  pinnedAudio: "ફક્ત અવાજ, ડૉક્ટરે પસંદ કર્યું",
  pinnedVideo: "વીડિયોની ગુણવત્તા ઓછી, ડૉક્ટરે પસંદ કર્યું",
  ownVideoOff: "નબળું નેટવર્ક — બીજા તમને સાંભળી શકે છે, પણ જોઈ શકતા નથી",
  saving: "ડેટા બચાવી રહ્યા છીએ",
  saveData: "ડેટા બચાવો",
  stopSaving: "ડેટા બચાવવાનું બંધ કરો",
  pinLabel: "તેમને શું મોકલવું",
  auto: "આપમેળે",
  lowVideo: "ઓછી ગુણવત્તાનો વીડિયો",
  audioOnly: "ફક્ત અવાજ",
};
