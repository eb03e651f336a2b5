// The room page's adaptation words in ur (keys: room-words.js ENGLISH).
export default {
  weakAudio: "کمزور نیٹ ورک — صرف آواز",
  weakVideo: "کمزور نیٹ ورک — ویڈیو کا معیار کم کر دیا گیا",
  pinnedAudio: "صرف آواز، ڈاکٹر نے منتخب کیا",
  pinnedVideo: "ویڈیو کا معیار کم، ڈاکٹر نے منتخب کیا",
  ownVideoOff: "کمزور نیٹ ورک — دوسرے آپ کو سن سکتے ہیں، دیکھ نہیں سکتے",
  saving: "ڈیٹا بچایا جا رہا ہے",
  saveData: "ڈیٹا بچائیں",
  stopSaving: "ڈیٹا بچانا بند کریں",
  pinLabel: "انہیں کیا بھیجیں",
  auto: "خودکار",
  lowVideo: "کم معیار کی ویڈیو",
  audioOnly: "صرف آواز",
};
