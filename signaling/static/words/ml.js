// The room page's adaptation words in ml (keys: room-words.js ENGLISH).
export default {
  weakAudio: "ദുർബലമായ നെറ്റ്‌വർക്ക് — ശബ്ദം മാത്രം",
  weakVideo: "ദുർബലമായ നെറ്റ്‌വർക്ക് — വീഡിയോ നിലവാരം കുറച്ചു",
  pinnedAudio: "ശബ്ദം മാത്രം, ഡോക്ടർ തിരഞ്ഞെടുത്തത്",
  pinnedVideo: "വീഡിയോ നിലവാരം കുറവ്, ഡോക്ടർ തിരഞ്ഞെടുത്തത്",
  saving: "ഡാറ്റ ലാഭിക്കുന്നു",
  saveData: "ഡാറ്റ ലാഭിക്കുക",
  stopSaving: "ഡാറ്റ ലാഭിക്കൽ നിർത്തുക",
  pinLabel: "അവർക്ക് എന്ത് അയയ്ക്കണം",
  auto: "സ്വയമേവ",
  lowVideo: "കുറഞ്ഞ നിലവാരമുള്ള വീഡിയോ",
  audioOnly: "ശബ്ദം മാത്രം",
};
