// The room page's adaptation words in hi (keys: room-words.js ENGLISH).
export default {
  weakAudio: "कमज़ोर नेटवर्क — सिर्फ़ आवाज़",
  weakVideo: "कमज़ोर नेटवर्क — वीडियो की क्वालिटी कम की गई",
  pinnedAudio: "सिर्फ़ आवाज़, डॉक्टर ने चुना है",
  pinnedVideo: "वीडियो की क्वालिटी कम, डॉक्टर ने चुना है",
  ownVideoOff: "कमज़ोर नेटवर्क — दूसरे आपको सुन सकते हैं, देख नहीं सकते",
  saving: "डेटा बचाया जा रहा है",
  saveData: "डेटा बचाएँ",
  stopSaving: "डेटा बचाना बंद करें",
  pinLabel: "इन्हें क्या भेजें",
  auto: "अपने-आप",
  lowVideo: "कम क्वालिटी वीडियो",
  audioOnly: "सिर्फ़ आवाज़",
};
