// Vaidya signaling client (protocol v1, docs/protocol.md): one WebSocket, any number of rooms,
// two peer connections per room (publish: we offer; subscribe: the server offers).
// No page logic here: the room page (room.js) listens to events and draws.

const REQUEST_TIMEOUT_MS = 15000;
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];
const RESTART_DELAY_MS = 1000;
const VIDEO_MAX_BITRATE = 600_000;

/** The WebSocket URL on this page's origin. */
export function defaultSocketUrl(loc = window.location) {
  return (loc.protocol === "https:" ? "wss://" : "ws://") + loc.host + "/ws";
}

/** The claims of a JWT, read without verifying (the server verifies; the page only adapts its UI). */
export function readTokenClaims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part + "===".slice((part.length + 3) % 4)));
  } catch {
    return null;
  }
}

/** An error the server sent back: `code` is one of the protocol's error codes. */
export class SignalingError extends Error {
  constructor(msg) {
    super(msg.message || msg.code);
    this.code = msg.code;
    this.room = msg.room ?? null;
  }
}

function emit(target, type, detail) {
  target.dispatchEvent(new CustomEvent(type, { detail }));
}

/** The SHA-256 of some bytes, as 64 hex digits: how both ends check that a photo arrived intact. */
export async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** fetch() a JSON reply; a reply that is not 2xx rejects with a SignalingError carrying its `code`. */
async function httpJson(url, init = {}) {
  const reply = await fetch(url, init);
  const body = await reply.json().catch(() => ({ code: "internal", message: `HTTP ${reply.status}` }));
  if (!reply.ok) throw new SignalingError(body);
  return body;
}

function candidateJson(c) {
  return c ? { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex } : null;
}

/**
 * The socket: requests with ids, replies and errors matched back to them, room messages routed to their
 * RoomSession, and a polite reconnect (backoff with jitter) that rejoins every room it held.
 * Events: "state" {state}, "error" {error} for errors no request or room claims.
 */
export class VaidyaClient extends EventTarget {
  constructor({ url = defaultSocketUrl(), rtcConfig = { bundlePolicy: "max-bundle" } } = {}) {
    super();
    this.url = url;
    this.rtcConfig = rtcConfig;
    this.rooms = new Map();
    this.state = "idle";
    this._ws = null;
    this._opening = null;
    this._nextId = 1;
    this._pending = new Map();
    this._attempt = 0;
    this._retryTimer = null;
    this._closed = false;
    this._onOnline = () => this._retryNow();
    window.addEventListener("online", this._onOnline);
  }

  _setState(state) {
    if (this.state !== state) {
      this.state = state;
      emit(this, "state", { state });
    }
  }

  /** Open the socket (once); resolves when it is open. */
  connect() {
    if (this._ws && this._ws.readyState === WebSocket.OPEN) return Promise.resolve();
    if (this._opening) return this._opening;
    this._closed = false;
    this._setState(this._attempt ? "reconnecting" : "connecting");
    this._opening = new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this._ws = ws;
      ws.onopen = () => {
        this._opening = null;
        this._attempt = 0;
        this._setState("open");
        resolve();
        for (const session of this.rooms.values()) session._socketReopened();
      };
      ws.onmessage = (ev) => this._receive(ev.data);
      ws.onclose = () => {
        const wasOpening = this._opening !== null;
        this._opening = null;
        if (this._ws === ws) this._ws = null;
        this._failPending(new Error("the connection to the server was lost"));
        for (const session of this.rooms.values()) session._socketLost();
        if (wasOpening) reject(new Error("could not reach the server"));
        if (!this._closed) this._scheduleRetry();
        else this._setState("closed");
      };
    });
    return this._opening;
  }

  _scheduleRetry() {
    this._setState("reconnecting");
    const base = BACKOFF_MS[Math.min(this._attempt, BACKOFF_MS.length - 1)];
    this._attempt += 1;
    const delay = base * (0.7 + Math.random() * 0.6);
    clearTimeout(this._retryTimer);
    this._retryTimer = setTimeout(() => this.connect().catch(() => {}), delay);
  }

  _retryNow() {
    if (this._closed || this.state !== "reconnecting" || this._opening) return;
    clearTimeout(this._retryTimer);
    this.connect().catch(() => {});
  }

  /** Close for good: leave nothing running. */
  close() {
    this._closed = true;
    clearTimeout(this._retryTimer);
    window.removeEventListener("online", this._onOnline);
    for (const session of [...this.rooms.values()]) session._teardown("closed");
    if (this._ws) this._ws.close(1000);
    this._setState("closed");
  }

  send(msg) {
    if (!this._ws || this._ws.readyState !== WebSocket.OPEN) throw new Error("not connected");
    this._ws.send(JSON.stringify(msg));
  }

  /** Send a message with a fresh request_id; resolves with the reply, rejects with a SignalingError. */
  request(msg) {
    const id = this._nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(id);
        reject(new Error(`no reply to ${msg.type} from the server`));
      }, REQUEST_TIMEOUT_MS);
      this._pending.set(id, { resolve, reject, timer });
      try {
        this.send({ ...msg, request_id: id });
      } catch (err) {
        clearTimeout(timer);
        this._pending.delete(id);
        reject(err);
      }
    });
  }

  _failPending(err) {
    for (const { reject, timer } of this._pending.values()) {
      clearTimeout(timer);
      reject(err);
    }
    this._pending.clear();
  }

  _receive(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    const pending = msg.request_id != null ? this._pending.get(msg.request_id) : undefined;
    if (pending) {
      this._pending.delete(msg.request_id);
      clearTimeout(pending.timer);
      if (msg.type === "error") pending.reject(new SignalingError(msg));
      else pending.resolve(msg);
      return;
    }
    const session = msg.room != null ? this.rooms.get(msg.room) : undefined;
    if (session) session._receive(msg);
    else if (msg.type === "error") emit(this, "error", { error: new SignalingError(msg) });
  }

  /**
   * Join a room and, when the token allows and a stream is given, publish its tracks.
   * Resolves with the RoomSession once joined (publishing carries on in the background);
   * `onSession(session)` runs first, so listeners miss no event.
   */
  async join(room, token, { stream = null, onSession = null } = {}) {
    if (this.rooms.has(room)) throw new Error(`already in room ${room}`);
    const session = new RoomSession(this, room, token, stream);
    this.rooms.set(room, session);
    if (onSession) onSession(session);
    try {
      await this.connect();
      await session._join();
    } catch (err) {
      session._teardown("failed");
      throw err;
    }
    return session;
  }
}

/**
 * The server's uplink budget applied to one sender's parameters (RTCRtpSendParameters, changed in place).
 * Video: bitrate (never above our own cap), frame rate, downscale; `video: null` turns the sender off.
 * Returns false when there is nothing to set (no encodings yet).
 */
export function budgetParameters(params, kind, budget) {
  const encoding = params.encodings?.[0];
  if (!encoding) return false;
  if (kind === "audio") {
    if (budget.audio?.max_bitrate) encoding.maxBitrate = budget.audio.max_bitrate;
    else delete encoding.maxBitrate;
    return true;
  }
  const video = budget.video;
  encoding.active = !!video;
  if (!video) return true;
  encoding.maxBitrate = Math.min(video.max_bitrate || VIDEO_MAX_BITRATE, VIDEO_MAX_BITRATE);
  if (video.max_framerate) encoding.maxFramerate = video.max_framerate;
  else delete encoding.maxFramerate;
  encoding.scaleResolutionDownBy = Math.max(1, video.scale_resolution_down_by || 1);
  return true;
}

/**
 * One joined room: its participants, producers, remote tracks and two peer connections.
 * Events (detail always has `room`): joined, participant-joined, participant-left, track-published,
 * track-unpublished, producer-paused, producer-resumed, track {mid, producer, track}, track-ended
 * {mid, producer}, quality {producer_id, kind, tier, reason, width, height, estimate_kbps},
 * uplink-budget {video, audio, estimate_kbps}, chat {message, mine}, photo {photo, mine}, photo-request {from},
 * state {state}, error {error}, ended {reason}.
 */
export class RoomSession extends EventTarget {
  constructor(client, room, token, stream) {
    super();
    this.client = client;
    this.room = room;
    this.token = token;
    this.stream = stream;
    const claims = readTokenClaims(token);
    this.canPublish = claims?.grants?.publish !== false;
    this.participantId = null;
    this.identity = claims?.sub ?? null;
    this.role = claims?.role ?? null;
    this.participants = new Map();
    this.producers = new Map();
    this.remote = new Map(); // mid -> {producer, track}
    this.publishPc = null;
    this.subscribePc = null;
    this.pausedKind = undefined; // undefined: sending; null: both paused; "audio" / "video": that one
    this.saveData = false;
    this.quality = new Map(); // producer_id -> the last `quality` for it (none: the original stream)
    this.uplinkBudget = null; // the last `uplink-budget`, kept across a rejoin and applied to each publishPc
    this.chat = new Map(); // chat_id -> {chat_id, identity, role, text, at}, in the order they arrived
    this.photos = new Map(); // photo_id -> {photo_id, identity, role, content_type, size, sha256, at, url}
    this._unannounced = new Set(); // photos we kept but have not yet told the room of (photo-sent)
    this._budgetChain = Promise.resolve();
    this.state = "joining";
    this._subscribeChain = Promise.resolve();
    this._publishChain = Promise.resolve();
  }

  _emit(type, detail = {}) {
    emit(this, type, { room: this.room, ...detail });
  }

  _setState(state) {
    if (this.state !== state) {
      this.state = state;
      this._emit("state", { state });
    }
  }

  async _join() {
    this._setState("joining");
    const reply = await this.client.request({ type: "join", room: this.room, token: this.token });
    this.participantId = reply.participant_id;
    this.identity = reply.identity;
    this.role = reply.role;
    this.participants = new Map(reply.participants.map((p) => [p.participant_id, p]));
    this.producers = new Map(reply.producers.map((p) => [p.producer_id, p]));
    // TURN relays with a credential minted for this join; connections made after a rejoin use the new one.
    this.iceServers = reply.ice_servers ?? [];
    this._setState("joined");
    this._emit("joined", { participants: reply.participants, producers: reply.producers });
    // The room's history: what was said and sent before we (re)joined; lines we already have are skipped.
    for (const line of reply.chat || []) this._addChat(line);
    for (const photo of reply.photos || []) this._addPhoto(photo);
    if (this._unannounced.size) this._announcePhotos();
    if (this.pausedKind !== undefined) {
      this._sendPause(true, this.pausedKind).catch((err) => this._emit("error", { error: err }));
    }
    if (this.saveData) this._sendSaveData(true).catch((err) => this._emit("error", { error: err }));
    if (this.stream && this.canPublish && this.stream.getTracks().length) {
      // A publish cut short by a lost socket is retried by the rejoin; only other failures are news.
      this.publish().catch((err) => this.state === "joined" && this._emit("error", { error: err }));
    }
  }

  /** Offer our tracks on the publish connection (again, after tracks change). */
  publish() {
    this._publishChain = this._publishChain.catch(() => {}).then(() => this._publishOnce());
    return this._publishChain;
  }

  async _publishOnce() {
    if (this.state !== "joined") return;
    if (!this.publishPc) this.publishPc = this._newPublishPc();
    const pc = this.publishPc;
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    pc._holdCandidates = true;
    let reply;
    try {
      reply = await this.client.request({ type: "publish", room: this.room, sdp: pc.localDescription.sdp });
    } catch (err) {
      if (err.code === "bad_sdp") this._dropPublishPc();
      if (err.code === "forbidden") this.canPublish = false;
      throw err;
    }
    if (pc !== this.publishPc) return;
    await pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
    pc._holdCandidates = false;
    this._flushCandidates(pc, "publish");
    // A budget that came before this connection existed (or before a rejoin) applies to it now.
    if (this.uplinkBudget) await this._applyUplinkBudget().catch((err) => this._emit("error", { error: err }));
  }

  /** Apply the last uplink budget to the publish connection's senders, one change at a time. */
  _applyUplinkBudget() {
    this._budgetChain = this._budgetChain.catch(() => {}).then(() => this._applyBudgetOnce());
    return this._budgetChain;
  }

  async _applyBudgetOnce() {
    const budget = this.uplinkBudget;
    const pc = this.publishPc;
    // Before the first answer the publish connection applies it itself, at the end of _publishOnce.
    if (!budget || !pc || !pc.currentRemoteDescription || pc.signalingState === "closed") return;
    for (const sender of pc.getSenders()) {
      if (!sender.track) continue;
      // getParameters and setParameters in one task: the parameters' transaction id stays valid.
      const params = sender.getParameters();
      if (budgetParameters(params, sender.track.kind, budget)) await sender.setParameters(params);
    }
  }

  _rtcConfig() {
    const servers = [...(this.client.rtcConfig.iceServers ?? []), ...(this.iceServers ?? [])];
    return { ...this.client.rtcConfig, iceServers: servers };
  }

  _newPublishPc() {
    const pc = new RTCPeerConnection(this._rtcConfig());
    for (const track of this.stream.getTracks()) {
      const init = { direction: "sendonly", streams: [this.stream] };
      // A weak rural link is the common case: cap the camera; adaptation downstream does the rest.
      if (track.kind === "video") init.sendEncodings = [{ maxBitrate: VIDEO_MAX_BITRATE }];
      pc.addTransceiver(track, init);
    }
    this._watchPc(pc, "publish");
    return pc;
  }

  _dropPublishPc() {
    if (this.publishPc) this.publishPc.close();
    this.publishPc = null;
  }

  _watchPc(pc, name) {
    pc._candidates = [];
    pc._holdCandidates = true;
    pc.onicecandidate = (ev) => {
      pc._candidates.push(candidateJson(ev.candidate));
      if (!pc._holdCandidates) this._flushCandidates(pc, name);
    };
    pc.onconnectionstatechange = () => {
      this._emit("pc-state", { pc: name, state: pc.connectionState });
      if (pc.connectionState === "failed" && this.state === "joined") this._restart();
    };
  }

  /** Trickle our ICE candidates, in order, once the server knows the session they belong to. */
  _flushCandidates(pc, name) {
    while (pc._candidates.length) {
      try {
        this.client.send({ type: "ice", room: this.room, pc: name, candidate: pc._candidates[0] });
      } catch {
        return;
      }
      pc._candidates.shift();
    }
  }

  _receive(msg) {
    switch (msg.type) {
      case "offer":
        this._subscribeChain = this._subscribeChain
          .then(() => this._answer(msg))
          .catch((err) => this._emit("error", { error: err }));
        break;
      case "participant-joined":
        this.participants.set(msg.participant.participant_id, msg.participant);
        this._emit("participant-joined", { participant: msg.participant });
        break;
      case "participant-left":
        this.participants.delete(msg.participant_id);
        for (const [id, p] of this.producers) if (p.participant_id === msg.participant_id) this.producers.delete(id);
        this._emit("participant-left", { participant_id: msg.participant_id });
        break;
      case "track-published":
        this.producers.set(msg.producer.producer_id, msg.producer);
        this._emit("track-published", { producer: msg.producer });
        break;
      case "track-unpublished":
        this.producers.delete(msg.producer_id);
        this.quality.delete(msg.producer_id);
        this._emit("track-unpublished", { producer_id: msg.producer_id });
        break;
      case "producer-paused":
      case "producer-resumed": {
        const producer = this.producers.get(msg.producer_id);
        if (producer) producer.paused = msg.type === "producer-paused";
        this._emit(msg.type, { producer_id: msg.producer_id });
        break;
      }
      case "quality": {
        const { producer_id, kind, tier, reason, width, height, estimate_kbps } = msg;
        const detail = { producer_id, kind, tier, reason, width, height, estimate_kbps };
        this.quality.set(producer_id, detail);
        this._emit("quality", detail);
        break;
      }
      case "uplink-budget":
        this.uplinkBudget = { video: msg.video ?? null, audio: msg.audio ?? null, estimate_kbps: msg.estimate_kbps };
        this._applyUplinkBudget().catch((err) => this._emit("error", { error: err }));
        this._emit("uplink-budget", this.uplinkBudget);
        break;
      case "chat":
        this._addChat(msg.message);
        break;
      case "photo":
        this._addPhoto(msg.photo);
        break;
      case "photo-request":
        this._emit("photo-request", { from: msg.from });
        break;
      case "left":
        // The server took us out (our connection failed on its side): come back in.
        if (this.state === "joined") this._restart(false);
        break;
      case "error":
        if (msg.code === "replaced") this._teardown("replaced");
        else this._emit("error", { error: new SignalingError(msg) });
        break;
      default:
        break;
    }
  }

  async _answer(msg) {
    if (!this.subscribePc) {
      this.subscribePc = new RTCPeerConnection(this._rtcConfig());
      this._watchPc(this.subscribePc, "subscribe");
    }
    const pc = this.subscribePc;
    await pc.setRemoteDescription({ type: "offer", sdp: msg.sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    this.client.send({ type: "answer", room: this.room, sdp: pc.localDescription.sdp });
    pc._holdCandidates = false;
    this._flushCandidates(pc, "subscribe");
    this._syncTracks(pc, msg.tracks || {});
  }

  /** Map the offer's {mid: Producer} onto our receivers: announce new tracks, retire gone ones. */
  _syncTracks(pc, tracks) {
    for (const producer of Object.values(tracks)) this.producers.set(producer.producer_id, producer);
    for (const [mid, known] of this.remote) {
      const now = tracks[mid];
      if (!now || now.producer_id !== known.producer.producer_id) {
        this.remote.delete(mid);
        this._emit("track-ended", { mid, producer: known.producer });
      }
    }
    for (const tx of pc.getTransceivers()) {
      const producer = tracks[tx.mid];
      if (!producer || this.remote.has(tx.mid)) continue;
      this.remote.set(tx.mid, { producer, track: tx.receiver.track });
      this._emit("track", { mid: tx.mid, producer, track: tx.receiver.track });
    }
  }

  /** Stop (or restart) forwarding our camera and/or microphone into this room only. */
  async pause(kind = null) {
    this.pausedKind = kind;
    await this._sendPause(true, kind);
  }

  async resume(kind = null) {
    this.pausedKind = undefined;
    await this._sendPause(false, kind);
  }

  _sendPause(pause, kind = null) {
    return this.client.request({ type: pause ? "pause" : "resume", room: this.room, kind });
  }

  /** Doctors: cap what another participant receives ("T0"–"T3", "A" audio only); null lifts the cap. */
  pin(participantId, tier = null) {
    return this.client.request({ type: "pin", room: this.room, participant_id: participantId, tier });
  }

  /** Receive less (video capped at the lowest tier) on a costly link; once accepted, kept across a rejoin. */
  async setSaveData(enabled) {
    await this._sendSaveData(!!enabled);
    this.saveData = !!enabled;
  }

  _sendSaveData(enabled) {
    return this.client.request({ type: "save-data", room: this.room, enabled });
  }

  _addChat(line) {
    if (!line || this.chat.has(line.chat_id)) return;
    this.chat.set(line.chat_id, line);
    this._emit("chat", { message: line, mine: line.identity === this.identity });
  }

  _addPhoto(photo) {
    if (!photo || this.photos.has(photo.photo_id)) return;
    this.photos.set(photo.photo_id, photo);
    this._emit("photo", { photo, mine: photo.identity === this.identity });
  }

  /** Send `track` instead of this session's track of its kind (another camera), without renegotiating;
   * the old track is stopped. */
  async replaceTrack(track) {
    const old = this.stream?.getTracks().find((t) => t.kind === track.kind);
    for (const sender of this.publishPc?.getSenders() ?? []) {
      if (sender.track && sender.track.kind === track.kind) await sender.replaceTrack(track);
    }
    if (old) {
      track.enabled = old.enabled;
      this.stream.removeTrack(old);
      old.stop();
    }
    this.stream?.addTrack(track);
  }

  /** Say something to everyone in the room; resolves with the line as the server kept it. */
  async sendChat(text) {
    const reply = await this.client.request({ type: "chat", room: this.room, text });
    this._addChat(reply.message);
    return reply.message;
  }

  /** Doctors: ask one participant for a photo (their page offers the camera and the gallery). */
  requestPhoto(participantId) {
    return this.client.request({ type: "photo-request", room: this.room, participant_id: participantId });
  }

  /**
   * Send a photo (a Blob) into the room beside the call, over HTTP in chunks (docs/protocol.md, "Photos"):
   * after a failed chunk it asks the server how much arrived and carries on from there, waiting longer
   * each time, so a 150 kbit/s link that drops now and then still gets the photo through intact.
   * `onProgress(sentBytes, totalBytes)`; resolves with the photo as the room keeps it.
   */
  async uploadPhoto(blob, { onProgress = () => {}, attempts = 30 } = {}) {
    const bytes = new Uint8Array(await blob.arrayBuffer());
    const sha256 = await sha256Hex(bytes);
    const auth = { Authorization: `Bearer ${this.token}` };
    const base = `/room/${encodeURIComponent(this.room)}/photos`;
    const started = await httpJson(base, { method: "POST", headers: { ...auth, "Content-Type": "application/json" },
                                           body: JSON.stringify({ size: bytes.length, sha256 }) });
    const upload = `${base}/uploads/${started.upload_id}`;
    let offset = 0;
    let failures = 0;
    onProgress(0, bytes.length);
    for (;;) {
      try {
        const reply = await fetch(`${upload}?offset=${offset}`, {
          method: "PUT", headers: auth, body: bytes.slice(offset, offset + started.chunk_bytes),
        });
        const body = await reply.json();
        if (reply.status === 201) {
          onProgress(bytes.length, bytes.length);
          this._addPhoto(body.photo);
          this._unannounced.add(body.photo.photo_id);
          await this._announcePhotos();
          return body.photo;
        }
        if (reply.status !== 200 && reply.status !== 409) throw new SignalingError(body);
        offset = body.received;
        failures = 0;
        onProgress(offset, bytes.length);
      } catch (err) {
        if (err instanceof SignalingError || ++failures >= attempts) throw err;
        await new Promise((resolve) => setTimeout(resolve, Math.min(8000, 250 * 2 ** failures)));
        offset = await httpJson(upload, { headers: auth }).then((state) => state.received).catch(() => offset);
      }
    }
  }

  /** Tell the room of our kept photos (`photo-sent`); one the socket lost on the way is told after a rejoin. */
  async _announcePhotos() {
    for (const photoId of [...this._unannounced]) {
      try {
        await this.client.request({ type: "photo-sent", room: this.room, photo_id: photoId });
        this._unannounced.delete(photoId);
      } catch (err) {
        if (err instanceof SignalingError) this._unannounced.delete(photoId); // the server will not: drop it
        return;
      }
    }
  }

  /** A photo's bytes (a Blob), fetched with this room's token. */
  async fetchPhoto(photo) {
    const reply = await fetch(photo.url, { headers: { Authorization: `Bearer ${this.token}` } });
    if (!reply.ok) throw new SignalingError(await reply.json().catch(() => ({ code: "not_found" })));
    return reply.blob();
  }

  /** Leave the room: tell the server, close both peer connections. */
  async leave() {
    if (this.state === "ended") return;
    const wasJoined = this.state === "joined";
    this._teardown("left");
    if (wasJoined) await this.client.request({ type: "leave", room: this.room }).catch(() => {});
  }

  _closePcs() {
    for (const pc of [this.publishPc, this.subscribePc]) if (pc) pc.close();
    this.publishPc = this.subscribePc = null;
    for (const [mid, { producer }] of this.remote) this._emit("track-ended", { mid, producer });
    this.remote.clear();
    this.producers.clear();
    this.quality.clear();
    for (const id of [...this.participants.keys()]) {
      this.participants.delete(id);
      this._emit("participant-left", { participant_id: id });
    }
  }

  _teardown(reason) {
    this._closePcs();
    if (this.client.rooms.get(this.room) === this) this.client.rooms.delete(this.room);
    this._setState("ended");
    this._emit("ended", { reason });
  }

  /** A peer connection failed: start this room afresh on the same socket, after a short pause. */
  async _restart(sendLeave = true) {
    this._setState("reconnecting");
    this._closePcs();
    if (sendLeave) await this.client.request({ type: "leave", room: this.room }).catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, RESTART_DELAY_MS));
    if (this.state === "reconnecting" && this.client.state === "open") await this._rejoin();
  }

  async _rejoin() {
    try {
      await this._join();
    } catch (err) {
      if (err instanceof SignalingError) {
        this._emit("error", { error: err });
        this._teardown(err.code);
      }
      // A lost socket: the client reconnects and calls _socketReopened again.
    }
  }

  _socketLost() {
    if (this.state === "ended") return;
    this._closePcs();
    this._setState("reconnecting");
  }

  _socketReopened() {
    if (this.state === "reconnecting") this._rejoin();
  }
}
