// Voice messages: recorded in the page with MediaRecorder, sent as an audio file (the server reads its length).

import { show } from "/static/dom.js";
import { t } from "/static/i18n.js";
import { upload } from "./uploads.js";
import { $ } from "./state.js";

let recorder = null;
let ticking = null;

function mimeType() {
  return ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4"].find((type) => MediaRecorder.isTypeSupported(type)) || "";
}

async function start() {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const chunks = [];
  recorder = new MediaRecorder(stream, { mimeType: mimeType() });
  recorder.ondataavailable = (event) => event.data.size && chunks.push(event.data);
  recorder.onstop = async () => {
    stream.getTracks().forEach((track) => track.stop());
    const type = recorder.mimeType.split(";")[0] || "audio/webm";
    const extension = type.split("/")[1] === "mp4" ? "m4a" : type.split("/")[1];
    recorder = null;
    await upload(new File(chunks, `voice-${new Date().toISOString().replace(/[:.]/g, "-")}.${extension}`, { type, lastModified: Date.now() }));
  };
  recorder.start();
  const began = Date.now();
  const tick = () => ($("record-state").textContent = t("groups.voice.recording", { seconds: Math.floor((Date.now() - began) / 1000) }));
  tick();
  ticking = setInterval(tick, 500);
  show($("record-state"), true);
  $("record").textContent = t("groups.voice.stop");
  $("record").classList.add("recording");
}

function stop() {
  clearInterval(ticking);
  show($("record-state"), false);
  $("record").textContent = t("groups.voice.record");
  $("record").classList.remove("recording");
  recorder.stop();
}

export function setUpVoice(onError) {
  if (!window.MediaRecorder || !navigator.mediaDevices) {
    show($("record"), false);
    return;
  }
  // The browser's own reason (no microphone, permission refused) is in its language, not the page's.
  $("record").addEventListener("click", () => (recorder ? stop() : start().catch(() => onError(new Error(t("groups.voice.no_microphone"))))));
}
