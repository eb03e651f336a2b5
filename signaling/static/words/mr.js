// The room page's adaptation words in mr (keys: room-words.js ENGLISH).
export default {
  weakAudio: "कमकुवत नेटवर्क — फक्त आवाज",
  weakVideo: "कमकुवत नेटवर्क — व्हिडिओची गुणवत्ता कमी केली",
  pinnedAudio: "फक्त आवाज, डॉक्टरांनी निवडले",
  pinnedVideo: "व्हिडिओची गुणवत्ता कमी, डॉक्टरांनी निवडले",
  ownVideoOff: "कमकुवत नेटवर्क — इतरांना तुमचा आवाज ऐकू येतो, पण तुम्ही दिसत नाही",
  saving: "डेटा वाचवला जात आहे",
  saveData: "डेटा वाचवा",
  stopSaving: "डेटा वाचवणे थांबवा",
  pinLabel: "त्यांना काय पाठवायचे",
  auto: "आपोआप",
  lowVideo: "कमी गुणवत्तेचा व्हिडिओ",
  audioOnly: "फक्त आवाज",
};
