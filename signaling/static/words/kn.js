// The room page's adaptation words in kn (keys: room-words.js ENGLISH).
export default {
  weakAudio: "ದುರ್ಬಲ ನೆಟ್‌ವರ್ಕ್ — ಧ್ವನಿ ಮಾತ್ರ",
  weakVideo: "ದುರ್ಬಲ ನೆಟ್‌ವರ್ಕ್ — ವೀಡಿಯೊ ಗುಣಮಟ್ಟ ಕಡಿಮೆ ಮಾಡಲಾಗಿದೆ",
  pinnedAudio: "ಧ್ವನಿ ಮಾತ್ರ, ವೈದ್ಯರು ಆಯ್ಕೆಮಾಡಿದ್ದಾರೆ",
  pinnedVideo: "ವೀಡಿಯೊ ಗುಣಮಟ್ಟ ಕಡಿಮೆ, ವೈದ್ಯರು ಆಯ್ಕೆಮಾಡಿದ್ದಾರೆ",
  ownVideoOff: "ದುರ್ಬಲ ನೆಟ್‌ವರ್ಕ್ — ಇತರರು ನಿಮ್ಮ ಧ್ವನಿ ಕೇಳಬಹುದು, ಆದರೆ ನಿಮ್ಮನ್ನು ನೋಡಲಾಗುವುದಿಲ್ಲ",
  saving: "ಡೇಟಾ ಉಳಿಸಲಾಗುತ್ತಿದೆ",
  saveData: "ಡೇಟಾ ಉಳಿಸಿ",
  stopSaving: "ಡೇಟಾ ಉಳಿಸುವುದನ್ನು ನಿಲ್ಲಿಸಿ",
  pinLabel: "ಅವರಿಗೆ ಏನು ಕಳುಹಿಸಬೇಕು",
  auto: "ಸ್ವಯಂಚಾಲಿತ",
  lowVideo: "ಕಡಿಮೆ ಗುಣಮಟ್ಟದ ವೀಡಿಯೊ",
  audioOnly: "ಧ್ವನಿ ಮಾತ್ರ",
};
