// Page-side measuring for bench/browser_participant.py, injected before the page's own scripts
// (Playwright add_init_script). It never changes what the page does: it watches the page's <video>
// elements with requestVideoFrameCallback, reads each frame's stamp (bench/stamp.py's cells, read the
// same way: the stamp area scaled to 4 x 4 pixels per cell, each cell's central 2 x 2 against mid-grey,
// CRC-8 checked), and hands frames, Chromium's getStats and the camera's stamp error to Python on request.
// Times are wall-clock ms (performance.timeOrigin + a performance time): Python's time.time() clock.
(() => {
  const PERIOD_MS = 20000;
  const COLUMNS = 10;
  const ROWS = 4;
  const PSNR_EVERY = 10;
  const wall = (t) => performance.timeOrigin + t;

  const CRC8 = [];
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let i = 0; i < 8; i++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
    CRC8.push(crc);
  }

  const cells = document.createElement("canvas");
  cells.width = COLUMNS * 4;
  cells.height = ROWS * 4;
  const cellsCtx = cells.getContext("2d", { willReadFrequently: true });
  const whole = document.createElement("canvas");
  const wholeCtx = whole.getContext("2d", { willReadFrequently: true });

  /** {counter, sendMs} of the frame the video element shows now, or null (too small, or CRC mismatch). */
  function readStamp(video, width, height) {
    const sw = Math.round((COLUMNS * width) / 20);
    const sh = Math.round((ROWS * height) / 11.25);
    if (sw < COLUMNS * 2 || sh < ROWS * 2) return null;
    cellsCtx.drawImage(video, 0, 0, sw, sh, 0, 0, cells.width, cells.height);
    const px = cellsCtx.getImageData(0, 0, cells.width, cells.height).data;
    const bytes = [0, 0, 0, 0, 0];
    for (let i = 0; i < COLUMNS * ROWS; i++) {
      const row = Math.floor(i / COLUMNS);
      const col = i % COLUMNS;
      let sum = 0;
      for (let y = 1; y < 3; y++) {
        for (let x = 1; x < 3; x++) {
          const at = ((row * 4 + y) * cells.width + col * 4 + x) * 4;
          sum += 0.299 * px[at] + 0.587 * px[at + 1] + 0.114 * px[at + 2];
        }
      }
      if (sum / 4 > 127.5) bytes[i >> 3] |= 1 << (7 - (i & 7));
    }
    let crc = 0;
    for (const b of bytes.slice(0, 4)) crc = CRC8[crc ^ b];
    const sendMs = (bytes[2] << 8) | bytes[3];
    if (crc !== bytes[4] || sendMs >= PERIOD_MS) return null;
    return { counter: (bytes[0] << 8) | bytes[1], sendMs };
  }

  /** The frame's luma in video range (16-235), base64: Python computes PSNR against the source. */
  function lumaBase64(video, width, height) {
    whole.width = width;
    whole.height = height;
    wholeCtx.drawImage(video, 0, 0, width, height);
    const px = wholeCtx.getImageData(0, 0, width, height).data;
    const luma = new Uint8Array(width * height);
    for (let i = 0, j = 0; j < luma.length; i += 4, j++) {
      luma[j] = Math.round(16 + ((0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2]) * 219) / 255);
    }
    let text = "";
    for (let i = 0; i < luma.length; i += 0x8000) text += String.fromCharCode(...luma.subarray(i, i + 0x8000));
    return btoa(text);
  }

  const bench = {
    streams: new Map(), // remote video track id -> {frames: [[shownMs, counter, sendMs, w, h, presented, luma?]], seen}
    cameraErrors: [], // capture time - stamped send time of local frames, ms
    watched: new WeakMap(), // video element -> true once its callback loop runs
    openedMs: null, // when getUserMedia returned: the room page opens its socket right after
    offeredMs: null, // when another member's video track first reached a <video> element
  };
  window.__bench = bench;

  function onFrame(video, local) {
    const loop = (now, meta) => {
      const track = video.srcObject?.getVideoTracks?.()[0];
      if (track) {
        if (local) {
          const found = meta.captureTime !== undefined ? readStamp(video, meta.width, meta.height) : null;
          if (found) {
            let error = (wall(meta.captureTime) - found.sendMs) % PERIOD_MS;
            if (error > PERIOD_MS / 2) error -= PERIOD_MS;
            bench.cameraErrors.push(error);
            if (bench.cameraErrors.length > 2000) bench.cameraErrors.splice(0, 1000);
          }
        } else {
          let stream = bench.streams.get(track.id);
          if (!stream) bench.streams.set(track.id, (stream = { frames: [], seen: 0 }));
          const found = readStamp(video, meta.width, meta.height);
          const record = [
            wall(meta.presentationTime), found ? found.counter : -1, found ? found.sendMs : -1, meta.width, meta.height,
            meta.presentedFrames,
          ];
          if (found && stream.seen % PSNR_EVERY === 0) record.push(lumaBase64(video, meta.width, meta.height));
          stream.seen += 1;
          stream.frames.push(record);
        }
      }
      video.requestVideoFrameCallback(loop);
    };
    video.requestVideoFrameCallback(loop);
  }

  function scan() {
    for (const video of document.querySelectorAll("video")) {
      const local = !!video.closest(".self") || video.dataset.benchCamera === "1";
      if (!local && bench.offeredMs === null && video.srcObject?.getVideoTracks?.().length) bench.offeredMs = Date.now();
      if (bench.watched.has(video)) continue;
      bench.watched.set(video, true);
      onFrame(video, local);
    }
  }
  setInterval(scan, 100);

  // The server's `quality` events and the session leaving the joined state, as the page's client library
  // reports them on its session (window.vaidya.session), each with its arrival time. A session already
  // carrying `quality` state when first seen (events before the hook) contributes that state at once.
  bench.quality = []; // [arrivedMs, {producer_id, kind, tier, reason, width, height, estimate_kbps}]
  bench.left = []; // [ms, state or ended reason]
  const hooked = new WeakSet();
  function hookSession() {
    const session = window.vaidya?.session;
    if (!session || hooked.has(session)) return;
    hooked.add(session);
    for (const detail of session.quality?.values() ?? []) bench.quality.push([Date.now(), detail]);
    session.addEventListener("quality", (e) => bench.quality.push([Date.now(), e.detail]));
    session.addEventListener("state", (e) => {
      if (e.detail.state === "reconnecting") bench.left.push([Date.now(), "reconnecting"]);
    });
    session.addEventListener("ended", (e) => bench.left.push([Date.now(), e.detail.reason]));
  }
  setInterval(hookSession, 50);

  /** New frames per remote track since the last call, and what the page learnt meanwhile. */
  bench.take = () => {
    hookSession();
    const out = {};
    for (const [id, stream] of bench.streams) {
      out[id] = stream.frames;
      stream.frames = [];
    }
    const session = window.vaidya?.session;
    const identity = (id) => session?.participants?.get(id)?.identity ?? null;
    return {
      frames: out, cameraErrors: bench.cameraErrors.splice(0), microphoneErrors: bench.microphoneErrors.splice(0),
      openedMs: bench.openedMs, offeredMs: bench.offeredMs,
      quality: bench.quality.splice(0), left: bench.left.splice(0),
      // each remote track: its producer and sender, so Python knows its source and can time a browser's frames
      remote: [...(session?.remote?.values() ?? [])].map((r) => [
        r.track?.id, r.producer?.producer_id, r.producer?.participant_id, r.track?.kind, identity(r.producer?.participant_id),
      ]),
    };
  };

  const VIDEO_KEYS = [
    "trackIdentifier", "framesDecoded", "framesDropped", "framesReceived", "keyFramesDecoded", "freezeCount",
    "totalFreezesDuration", "pauseCount", "totalPausesDuration", "frameWidth", "frameHeight", "framesPerSecond",
    "jitterBufferDelay", "jitterBufferEmittedCount", "jitterBufferTargetDelay", "pliCount", "firCount", "nackCount",
    "packetsLost", "packetsReceived", "bytesReceived", "retransmittedPacketsReceived", "totalDecodeTime",
    "decoderImplementation",
  ];
  const AUDIO_KEYS = [
    "trackIdentifier", "concealedSamples", "silentConcealedSamples", "totalSamplesReceived", "concealmentEvents",
    "insertedSamplesForDeceleration", "removedSamplesForAcceleration", "jitterBufferDelay", "jitterBufferEmittedCount",
    "jitterBufferTargetDelay", "nackCount", "packetsLost", "packetsReceived", "bytesReceived", "audioLevel",
  ];
  const SENT_KEYS = [
    "kind", "frameWidth", "frameHeight", "framesPerSecond", "framesEncoded", "framesSent", "keyFramesEncoded",
    "packetsSent", "bytesSent", "retransmittedPacketsSent", "targetBitrate", "qualityLimitationReason",
    "qualityLimitationDurations", "nackCount", "pliCount", "firCount", "encoderImplementation",
  ];
  const pick = (s, keys) => Object.fromEntries(keys.filter((k) => s[k] !== undefined).map((k) => [k, s[k]]));

  /** Chromium's own view: inbound-rtp per received track, transport bytes, and what its encoder sent. */
  bench.stats = async () => {
    const out = { video: [], audio: [], sent: [], bytesReceived: 0 };
    const receiving = window.vaidya?.subscribePc;
    const sending = window.vaidya?.publishPc;
    (await receiving?.getStats())?.forEach((s) => {
      if (s.type === "inbound-rtp") out[s.kind].push(pick(s, s.kind === "video" ? VIDEO_KEYS : AUDIO_KEYS));
      if (s.type === "transport") out.bytesReceived += s.bytesReceived || 0;
    });
    (await sending?.getStats())?.forEach((s) => {
      if (s.type === "outbound-rtp") out.sent.push(pick(s, SENT_KEYS));
    });
    return out;
  };

  // The camera: a file whose frames carry planned send times (bench/camera_file.py). Chromium shares one
  // running capture device among the pages that open it, so the first page to open it decides when frame
  // 0 is captured: `openCamera` opens it at a given wall-clock time and returns the stamps' error.
  const getUserMedia = navigator.mediaDevices?.getUserMedia?.bind(navigator.mediaDevices);
  const sleepUntil = async (ms) => {
    while (Date.now() < ms - 4) await new Promise((r) => setTimeout(r, Math.min(50, ms - 4 - Date.now())));
    while (Date.now() < ms) {
      // the last few ms spin: a timer fires up to a few ms late
    }
  };

  bench.openCamera = async (atMs, constraints, frames = 6) => {
    await sleepUntil(atMs);
    const stream = await getUserMedia(constraints);
    const video = document.createElement("video");
    video.muted = true;
    video.dataset.benchCamera = "1";
    video.srcObject = stream;
    document.body.append(video);
    bench.cameraErrors = [];
    await video.play();
    const deadline = Date.now() + 5000;
    while (bench.cameraErrors.length < frames && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const errors = bench.cameraErrors.slice().sort((a, b) => a - b);
    bench.camera = { stream, video };
    return errors.length ? errors[errors.length >> 1] : null;
  };

  bench.closeCamera = () => {
    for (const track of bench.camera?.stream.getTracks() ?? []) track.stop();
    bench.camera?.video.remove();
    bench.camera = null;
  };

  // The microphone: its file's marker bursts are planned to start on the whole seconds of the stamp
  // clock, second k of the period at 400 + 150 k Hz (bench/audio_marks.py). An AudioWorklet on the page's
  // own microphone track finds each burst's onset (RMS of a 128-sample block above 0.08 after 300 ms of
  // quiet, as that module's detector) and which mark it is (the strongest of the 20 frequencies over its
  // first 60 ms, by Goertzel); onset minus the mark's second is the microphone's error (its opening
  // latency, plus WebAudio's input buffering). Read modulo a second instead, a microphone that opened a
  // second late on a starved machine read as on time, and its markers a second late at every receiver.
  const ONSETS = `
    const BASE_HZ = 400, STEP_HZ = 150, MARKS = 20, BURST_S = 0.06;
    class Onsets extends AudioWorkletProcessor {
      constructor() { super(); this.quiet = 0; this.burst = null; this.onset = 0; }
      process(inputs) {
        const samples = inputs[0] && inputs[0][0];
        if (!samples) return true;
        let sum = 0;
        for (const x of samples) sum += x * x;
        const loud = Math.sqrt(sum / samples.length) > 0.08;
        if (this.burst) {
          this.burst.push(Float32Array.from(samples));
          if (this.burst.length * samples.length >= BURST_S * sampleRate) {
            this.port.postMessage({ at: this.onset, k: this.mark() });
            this.burst = null;
          }
        } else if (loud && this.quiet >= 0.3 * sampleRate) {
          this.burst = [Float32Array.from(samples)];
          this.onset = currentTime;
        }
        this.quiet = loud ? 0 : this.quiet + samples.length;
        return true;
      }
      mark() {
        let best = 0, bestPower = -1;
        for (let k = 0; k < MARKS; k++) {
          const c = 2 * Math.cos(2 * Math.PI * (BASE_HZ + STEP_HZ * k) / sampleRate);
          let s1 = 0, s2 = 0;
          for (const block of this.burst) for (const x of block) { const s0 = x + c * s1 - s2; s2 = s1; s1 = s0; }
          const power = s1 * s1 + s2 * s2 - c * s1 * s2;
          if (power > bestPower) { bestPower = power; best = k; }
        }
        return best;
      }
    }
    registerProcessor("bench-onsets", Onsets);`;
  bench.microphoneErrors = [];

  async function watchMicrophone(stream) {
    const context = new AudioContext();
    await context.audioWorklet.addModule(URL.createObjectURL(new Blob([ONSETS], { type: "text/javascript" })));
    const node = new AudioWorkletNode(context, "bench-onsets");
    context.createMediaStreamSource(new MediaStream(stream.getAudioTracks())).connect(node);
    const silent = context.createGain();
    silent.gain.value = 0;
    node.connect(silent).connect(context.destination); // pulled by the graph, heard by nobody
    node.port.onmessage = (e) => {
      const onsetMs = Date.now() - (context.currentTime - e.data.at) * 1000;
      let error = (((onsetMs - e.data.k * 1000) % PERIOD_MS) + PERIOD_MS) % PERIOD_MS;
      if (error > PERIOD_MS / 2) error -= PERIOD_MS;
      bench.microphoneErrors.push(error);
    };
    await context.resume();
  }

  // The page's own getUserMedia waits until the microphone file has been written for this moment
  // (window.benchMicrophoneAt, a Playwright binding), so the page's marker bursts start on their seconds.
  if (getUserMedia) {
    navigator.mediaDevices.getUserMedia = async (constraints) => {
      if (window.benchMicrophoneAt) await sleepUntil(await window.benchMicrophoneAt());
      const stream = await getUserMedia(constraints);
      bench.openedMs = Date.now();
      if (window.benchMicrophoneAt && stream.getAudioTracks().length) watchMicrophone(stream).catch(() => {});
      return stream;
    };
  }
})();
