// The room page's adaptation words in bn (keys: room-words.js ENGLISH).
export default {
  weakAudio: "দুর্বল নেটওয়ার্ক — শুধু অডিও",
  weakVideo: "দুর্বল নেটওয়ার্ক — ভিডিওর মান কমানো হয়েছে",
  pinnedAudio: "শুধু অডিও, ডাক্তার বেছে দিয়েছেন",
  pinnedVideo: "ভিডিওর মান কম, ডাক্তার বেছে দিয়েছেন",
  ownVideoOff: "দুর্বল নেটওয়ার্ক — অন্যরা আপনার কথা শুনতে পাচ্ছেন, কিন্তু দেখতে পাচ্ছেন না",
  saving: "ডেটা বাঁচানো হচ্ছে",
  saveData: "ডেটা বাঁচান",
  stopSaving: "ডেটা বাঁচানো বন্ধ করুন",
  pinLabel: "ওঁকে কী পাঠাবেন",
  auto: "স্বয়ংক্রিয়",
  lowVideo: "কম মানের ভিডিও",
  audioOnly: "শুধু অডিও",
};
