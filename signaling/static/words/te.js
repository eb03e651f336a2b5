// The room page's adaptation words in te (keys: room-words.js ENGLISH).
export default {
  weakAudio: "బలహీనమైన నెట్‌వర్క్ — ఆడియో మాత్రమే",
  weakVideo: "బలహీనమైన నెట్‌వర్క్ — వీడియో నాణ్యత తగ్గించబడింది",
  pinnedAudio: "ఆడియో మాత్రమే, డాక్టర్ ఎంచుకున్నారు",
  pinnedVideo: "వీడియో నాణ్యత తక్కువ, డాక్టర్ ఎంచుకున్నారు",
  ownVideoOff: "బలహీనమైన నెట్‌వర్క్ — ఇతరులు మీ మాట వినగలరు, కానీ మిమ్మల్ని చూడలేరు",
  saving: "డేటా ఆదా అవుతోంది",
  saveData: "డేటా ఆదా చేయండి",
  stopSaving: "డేటా ఆదా ఆపండి",
  pinLabel: "వారికి ఏమి పంపాలి",
  auto: "ఆటోమేటిక్",
  lowVideo: "తక్కువ నాణ్యత వీడియో",
  audioOnly: "ఆడియో మాత్రమే",
};
