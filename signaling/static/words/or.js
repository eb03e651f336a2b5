// The room page's adaptation words in or (keys: room-words.js ENGLISH).
export default {
  weakAudio: "ଦୁର୍ବଳ ନେଟୱାର୍କ — କେବଳ ସ୍ୱର",
  weakVideo: "ଦୁର୍ବଳ ନେଟୱାର୍କ — ଭିଡିଓର ଗୁଣବତ୍ତା କମାଯାଇଛି",
  pinnedAudio: "କେବଳ ସ୍ୱର, ଡାକ୍ତର ବାଛିଛନ୍ତି",
  pinnedVideo: "ଭିଡିଓର ଗୁଣବତ୍ତା କମ୍, ଡାକ୍ତର ବାଛିଛନ୍ତି",
  ownVideoOff: "ଦୁର୍ବଳ ନେଟୱାର୍କ — ଅନ୍ୟମାନେ ଆପଣଙ୍କ ସ୍ୱର ଶୁଣିପାରିବେ, କିନ୍ତୁ ଆପଣଙ୍କୁ ଦେଖିପାରିବେ ନାହିଁ",
  saving: "ଡାଟା ସଞ୍ଚୟ ହେଉଛି",
  saveData: "ଡାଟା ସଞ୍ଚୟ କରନ୍ତୁ",
  stopSaving: "ଡାଟା ସଞ୍ଚୟ ବନ୍ଦ କରନ୍ତୁ",
  pinLabel: "ତାଙ୍କୁ କ'ଣ ପଠାଯିବ",
  auto: "ସ୍ୱୟଂଚାଳିତ",
  lowVideo: "କମ୍ ଗୁଣବତ୍ତାର ଭିଡିଓ",
  audioOnly: "କେବଳ ସ୍ୱର",
};
