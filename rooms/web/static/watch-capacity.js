// When the server has as many WebRTC viewers of the stream as it takes, WHEP
// answers 503 with Retry-After. The HLS player registers itself here
// (setHlsFallback) and plays instead; without it, or when it cannot, the page
// says the stream is full and watch.js tries WebRTC again after Retry-After.

let hlsFallback = null;

/** `play(stream)` → true if it plays the stream over HLS (then WebRTC is not tried again). */
export function setHlsFallback(play) {
  hlsFallback = play;
}

/** After a WHEP 503: true if HLS took over. */
export async function playOverHls(stream) {
  try {
    return Boolean(hlsFallback && (await hlsFallback(stream)));
  } catch {
    return false;
  }
}
