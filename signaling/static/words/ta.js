// The room page's adaptation words in ta (keys: room-words.js ENGLISH).
export default {
  weakAudio: "பலவீனமான இணையம் — குரல் மட்டும்",
  weakVideo: "பலவீனமான இணையம் — வீடியோ தரம் குறைக்கப்பட்டது",
  pinnedAudio: "குரல் மட்டும், மருத்துவர் தேர்ந்தெடுத்தது",
  pinnedVideo: "வீடியோ தரம் குறைவு, மருத்துவர் தேர்ந்தெடுத்தது",
  saving: "டேட்டா சேமிக்கப்படுகிறது",
  saveData: "டேட்டாவைச் சேமிக்கவும்",
  stopSaving: "டேட்டா சேமிப்பை நிறுத்தவும்",
  pinLabel: "அவருக்கு என்ன அனுப்ப வேண்டும்",
  auto: "தானியங்கி",
  lowVideo: "குறைந்த தர வீடியோ",
  audioOnly: "குரல் மட்டும்",
};
